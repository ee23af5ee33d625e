// Package benchmarks holds the end-to-end benchmark harness of rwkv-tools:
// engine throughput on a model of a released size (built in memory with
// random weights, or a real file via RWKV_BENCH_MODEL) and the machine's
// memory bandwidth, which every GB/s figure is compared with. Figures and
// how to reproduce them: README.md in this directory. Timing numbers never
// go into pass/fail tests.
package benchmarks
