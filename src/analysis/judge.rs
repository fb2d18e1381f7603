//! Mann-Whitney canary judge (being written).
