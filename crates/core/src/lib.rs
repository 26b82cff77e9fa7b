//! optisync's core: the records a model yields, their validation, and the pure planner that
//! turns (desired rows, delivered state, remote index, mode) into a plan. Nothing here does I/O.
