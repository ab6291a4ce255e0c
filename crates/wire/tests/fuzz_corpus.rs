//! Replays the committed `wire_all` fuzz corpus (`fuzz/corpus/wire_all/`)
//! through the function the fuzz target calls (`connwatch_wire::fuzz_all`),
//! so CI checks every corpus input without a fuzzer.

#[test]
fn replay_wire_all_corpus() {
    connwatch_tracegen::fuzz_corpus::replay("wire_all", connwatch_wire::fuzz_all);
}
