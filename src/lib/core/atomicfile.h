/* SPDX-License-Identifier: ISC */
/*
 * atomicfile: state files that survive kill -9 and power loss. Writes go to a
 * temporary file in the same directory, are fsync'ed, renamed over the target
 * and the directory is fsync'ed; reads are capped. Files we do not own and
 * that may be bind mounts (resolv.conf) are rewritten in place instead.
 */
#ifndef WEFT_CORE_ATOMICFILE_H
#define WEFT_CORE_ATOMICFILE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Atomically replaces `path` with `len` bytes at `data`, mode `mode` (0600 for state). */
int atomicfile_write(const char *path, const void *data, size_t len, mode_t mode)
	__attribute__((warn_unused_result));

/*
 * Reads the whole file into a new NUL-terminated heap buffer (*out, caller
 * frees; *outlen excludes the NUL). -EFBIG if larger than `cap`.
 */
int atomicfile_read(const char *path, size_t cap, uint8_t **out, size_t *outlen)
	__attribute__((warn_unused_result));

/* Truncates and rewrites `path` in place (keeps inode, owner, mode), then fsyncs. */
int atomicfile_rewrite_inplace(const char *path, const void *data, size_t len)
	__attribute__((warn_unused_result));

/* mkdir -p with `mode` for the directories it creates. */
int atomicfile_mkdirs(const char *path, mode_t mode) __attribute__((warn_unused_result));

#endif
