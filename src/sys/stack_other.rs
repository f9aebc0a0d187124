//! Stack bounds for targets without a known way to ask (the BSDs, wasm, ...): none, so the
//! walker captures no frames there rather than read memory it cannot bound.

/// Always `None`.
pub(crate) fn thread_stack_bounds() -> Option<(usize, usize)> {
    None
}
