//! No module list on this platform: every frame is reported as a raw address.

use super::LoadedModule;

pub(super) fn loaded_modules() -> Vec<LoadedModule> {
    Vec::new()
}

pub(super) fn module_containing(_address: usize) -> Option<LoadedModule> {
    None
}
