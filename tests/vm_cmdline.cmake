# plugins/vm: the QEMU command line builder (pure; runs /bin/sh and base64 to check the quoting).
if(TARGET zerovmcmdline)
  zero_unit_test(test_vm_cmdline SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vm_cmdline.c
                 LIBS zerovmcmdline zerocommon)
endif()
# plugins/vm: the accelerator choice; fake QEMUs are shell scripts written by the test.
if(TARGET zerovmaccel)
  zero_unit_test(test_vm_accel SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_vm_accel.c
                 LIBS zerovmaccel zerocommon)
endif()
# plugins/bms: the probe's decision (kexec_file_load, the card outliving the host) and its
# detection on this machine.
if(TARGET zerobmsprobe)
  zero_unit_test(test_bms_probe SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_bms_probe.c LIBS zerobmsprobe)
endif()
