# The VM runtime. deploy/images/build-busybox-image end to end: it builds the busybox image
# (the kernel package is downloaded once into <build>/image-cache) and boots it under QEMU TCG
# as virtio-blk, virtio-scsi and NVMe, with NICs, and with a missing root disk.
# Debian: qemu-system-x86 e2fsprogs busybox-static (the test fails, it does not skip, without them).
# It tests scripts and a guest, nothing the sanitizers instrument: once, in the plain build.
if(NOT ZERO_SANITIZE)
  zero_integration_test(vm_image ${CMAKE_CURRENT_SOURCE_DIR}/integration/vm_image.sh TIMEOUT 600)
endif()

# The vm plugin through zerod: boots the unified image on card volumes (TCG, ~6 s per boot).
zero_integration_test(it_vm_lifecycle ${CMAKE_CURRENT_SOURCE_DIR}/integration/vm_lifecycle.sh TIMEOUT 600)

# Online configuration: a data volume and a NIC hot-plugged into a running VM and unplugged.
zero_integration_test(it_vm_hotplug ${CMAKE_CURRENT_SOURCE_DIR}/integration/vm_hotplug.sh TIMEOUT 600)

# Mode switching: one instance container -> vm -> container, its volume, NIC and id kept.
zero_integration_test(it_switch ${CMAKE_CURRENT_SOURCE_DIR}/integration/switch.sh TIMEOUT 600)

# Crash at every fault point of create, delete and switch (zerod --list-fault-points): the next
# zerod finishes the operation; one mode, one export, one NIC link, nothing leaked.
zero_integration_test(it_fault_points ${CMAKE_CURRENT_SOURCE_DIR}/integration/fault_points.sh TIMEOUT 1200)

# Live migration between two nodes (two zerods in network namespaces joined by a veth pair, a
# shared volume directory, their bridges joined, a peer pinging the guest): a VM with a root
# volume, a data volume and a NIC goes A -> B -> A (migrate_lib.sh, migrate.sh).
zero_integration_test(it_migrate ${CMAKE_CURRENT_SOURCE_DIR}/integration/migrate.sh TIMEOUT 900)

# Live migration's failures on the same two nodes: DELETE of the operation, the target dying, the
# link breaking (each mid-send: the guest runs on at the source, nothing left on the target) and
# the source crashing after the switchover (the guest is the target's, the source forgets it).
zero_integration_test(it_migrate_fail ${CMAKE_CURRENT_SOURCE_DIR}/integration/migrate_fail.sh TIMEOUT 900)

# Live migration after migrate-continue with the target out of reach: the source keeps the guest
# paused and asks the target until it says who runs it (B had the hand-over: B's; B lost it: A's).
zero_integration_test(it_migrate_split ${CMAKE_CURRENT_SOURCE_DIR}/integration/migrate_split.sh TIMEOUT 900)

# The interactive console of a VM: zeroctl console -i writes to QEMU's serial, the guest's shell
# answers (issue 16 item 3).
zero_integration_test(it_console_vm ${CMAKE_CURRENT_SOURCE_DIR}/integration/console_vm.sh TIMEOUT 300)

# A vTPM per VM (issue 17 item 2): swtpm under the shim, /dev/tpm0 in the guest, its NV kept
# across a stop and start and a switch to a container and back; refused without swtpm.
zero_integration_test(it_vm_tpm ${CMAKE_CURRENT_SOURCE_DIR}/integration/vm_tpm.sh TIMEOUT 600)

# An aarch64 guest (docs/aarch64.md): the unified image built for arm64 and booted through zerod
# by qemu-system-aarch64 -M virt under TCG; its marker and NIC address read from the console.
# Plain build only: the plugin's C is the x86 guests' (checked under the sanitizers by the tests
# above) but for the machine and console it picks, and a TCG boot of arm64 costs 20-60 s.
if(NOT ZERO_SANITIZE)
  zero_integration_test(it_vm_aarch64 ${CMAKE_CURRENT_SOURCE_DIR}/integration/vm_aarch64.sh TIMEOUT 600)
endif()

# Launch measurements and their signed attestation (issue 17 item 3): zeroctl attest, a changed
# kernel, a replayed nonce and a tampered payload.
zero_integration_test(it_attest ${CMAKE_CURRENT_SOURCE_DIR}/integration/attest.sh TIMEOUT 600)

# A VM with a vTPM migrates live: its TPM state goes in QEMU's stream to the target's swtpm.
zero_integration_test(it_migrate_tpm ${CMAKE_CURRENT_SOURCE_DIR}/integration/migrate_tpm.sh TIMEOUT 600)
