/* Helpers for the blockdev unit tests: a scratch directory per test and
 * small disk images written at test time (never committed).
 */
#ifndef V2V_TESTS_BLOCKDEV_TESTLIB_H
#define V2V_TESTS_BLOCKDEV_TESTLIB_H

#include <stddef.h>
#include <stdint.h>

#include "blockdev.h"

/* The scratch directory of the running test, made by blockdev_test_setup
 * and removed with everything in it by blockdev_test_teardown (use them
 * as a TestSuite's .init and .fini).
 */
extern char blockdev_test_dir[];
extern void blockdev_test_setup (void);
extern void blockdev_test_teardown (void);

/* "DIR/NAME" in the scratch directory; the caller frees it. */
extern char *blockdev_test_path (const char *name);

/* Create (or truncate) a sparse file of SIZE bytes. */
extern void blockdev_test_file (const char *path, uint64_t size);
/* Write LEN bytes of DATA at OFFSET into an existing file. */
extern void blockdev_test_pwrite (const char *path, uint64_t offset,
                                  const void *data, size_t len);
/* Fill LEN bytes at OFFSET with BYTE. */
extern void blockdev_test_fill (const char *path, uint64_t offset,
                                int byte, size_t len);

/* Copy the whole of file SRC into DST at OFFSET. */
extern void blockdev_test_copy_into (const char *src, const char *dst,
                                     uint64_t offset);

/* Run a program (argv, NULL-terminated) and assert it exits 0. */
extern void blockdev_test_run (const char *arg0, ...)
  __attribute__ ((sentinel));

/* Partition PATH with "sfdisk -q PATH", SCRIPT on its stdin.  (sgdisk
 * would do, but it sleeps a second after writing.)
 */
extern void blockdev_test_sfdisk (const char *path, const char *script);

/* Write an MBR into sector 0 of PATH with one partition entry. */
extern void blockdev_test_mbr (const char *path, uint8_t type,
                               uint32_t start_lba, uint32_t nr_sectors,
                               int active, int boot_code);

/* Discover PATH as the only disk (need_write false), probe it, assert
 * success.  The caller frees the list.
 */
extern struct blockdev_list *blockdev_test_probe (const char *path);

/* The SHA-256 of a file, as hex, into HEX (65 bytes). */
extern void blockdev_test_sha256 (const char *path, char *hex);

#endif /* V2V_TESTS_BLOCKDEV_TESTLIB_H */
