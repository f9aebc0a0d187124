//! Offline symbolication (feature `symbolicate`). OWNED BY THE SYMBOLICATION WORK.
