//! Differential tests against dhat 0.3.3 (see the dhat-compat issue).
