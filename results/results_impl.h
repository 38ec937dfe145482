/* results_impl — what the results module's files (results.c,
 * results_stats.c, results_view.c) share and no one else uses. */
#ifndef GGPERF_RESULTS_IMPL_H
#define GGPERF_RESULTS_IMPL_H

/* fsync the directory holding path, so a rename into it is durable. */
void results_fsync_parent_dir(const char *path);

#endif
