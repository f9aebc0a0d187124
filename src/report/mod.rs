//! Output writers: DHAT JSON and text reports. OWNED BY THE DHAT-COMPAT WORK.
