# Images: the tar reader (common/tar.c), zero-unpack's safe extraction, the import operation.
zero_unit_test(test_tar SKIPS SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tar.c LIBS zerocommon)
zero_unit_test(test_extract SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_extract.c LIBS zeroextract)

# Host paths below import_dirs only, uploads, the extraction rules end to end, setuid, limits,
# nodev (the real zerod, zero-unpack and crun).
zero_integration_test(it_image_import ${CMAKE_CURRENT_SOURCE_DIR}/integration/image_import.sh TIMEOUT 300)

# The build-busybox-image layout uploaded (no host path), booted as a VM and run as a container.
zero_integration_test(it_image_vm_upload ${CMAKE_CURRENT_SOURCE_DIR}/integration/image_vm_upload.sh TIMEOUT 600)

# A 300 MiB import (host directory, then upload) while GET /v1/node answers within 200 ms.
zero_integration_test(it_image_responsive ${CMAKE_CURRENT_SOURCE_DIR}/integration/image_responsive.sh TIMEOUT 600)

# Every fault point of the import operation, kill -9 while zero-unpack runs and while an upload
# comes in: the next zerod finishes or removes; no half image, work directory or helper left.
zero_integration_test(it_image_crash ${CMAKE_CURRENT_SOURCE_DIR}/integration/image_crash.sh TIMEOUT 600)
