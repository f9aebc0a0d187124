//! The dhat 0.3.3 API (feature `dhat-compat`). OWNED BY THE DHAT-COMPAT WORK.
