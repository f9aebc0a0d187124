//! No module list on this platform: every frame is reported as a raw address.

use super::LoadedModule;
use crate::fork_lock::ForkHandlers;

/// Listing the modules takes no lock of the crate's here.
pub(super) fn fork_handlers() -> Option<ForkHandlers> {
    None
}

pub(super) fn loaded_modules() -> Vec<LoadedModule> {
    Vec::new()
}

pub(super) fn module_containing(_address: usize) -> Option<LoadedModule> {
    None
}
