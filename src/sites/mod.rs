//! Lock-free call-site table (feature `backtraces`). OWNED BY THE CALL-SITE TABLE WORK; this is
//! the agreed interface, to be replaced by the real implementation.

/// A call site's index in the table; stable for the life of the table. 0 is never a site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct SiteId(pub(crate) u32);
