//! Replays the committed `pipeline` fuzz corpus (`fuzz/corpus/pipeline/`)
//! through the function the fuzz target calls
//! (`connwatch_track::fuzzing::fuzz_pipeline`), so CI checks every corpus
//! input without a fuzzer.

#[test]
fn replay_pipeline_corpus() {
    connwatch_tracegen::fuzz_corpus::replay("pipeline", connwatch_track::fuzzing::fuzz_pipeline);
}

#[test]
fn replay_flow_collect_corpus() {
    connwatch_tracegen::fuzz_corpus::replay(
        "flow_collect",
        connwatch_track::fuzzing_flows::fuzz_flows,
    );
}
