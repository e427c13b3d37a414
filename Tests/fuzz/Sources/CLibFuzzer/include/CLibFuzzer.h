// libFuzzer's driver entry point (compiler-rt, FuzzerInterface.h). The fuzz targets call it from
// their own main, because SwiftPM links executables with their own entry point on Linux.
#ifndef OPENRTMS_CLIBFUZZER_H
#define OPENRTMS_CLIBFUZZER_H
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

#endif
