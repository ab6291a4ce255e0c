//! Behaviour tests of the tracker against hand-built packets: the TCP state
//! machine, history letters, orientation, byte counting and timers.
