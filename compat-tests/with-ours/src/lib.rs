//! Placeholder library target: the binaries are the scenarios in ../scenarios.
