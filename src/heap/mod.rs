//! Heap profiling with dhat's accounting (feature `dhat-compat`). OWNED BY THE HEAP WORK.
