#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
qemu_migrate_plain.py DIR N [pause]: plain QEMU live migrations of the busybox guest, without zerod,
back and forth N times on this machine, with a peer pinging the guest; after each, the guest's
console on the target is searched for a crash (or zero-test-dirtier's lost page). Not a ctest:
bench_migrate's baseline of plain QEMU, and the reproduction of QEMU 7.2's lost pages under TCG.

DIR holds vmlinuz, initrd.img, root.qcow2 (its backing file beside it), data.raw and append (the
kernel command line zerod gave the guest: a kept it_migrate's `tr '\0' '\n' </proc/PID/cmdline`).
QEMU as zerod runs it (q35, TCG, memfd RAM shared, virtio-net on a tap, zerod's migration
settings), but the disks are QEMU's built-in virtio-blk on the files. Network namespaces mexp (a
bridge, the taps) and mexpp (the peer, 10.68.0.250). Environment: PINGMS (5), PINGIP (the
guest's), LATEPING=1 (ping only from the pause before the switchover on; needs "pause"), PAUSE_S
(0.1: how long the pause lasts), RAM (262152K, as zerod sizes a TCG guest), DOWNTIME_MS (30),
MEMOBJ, ACCEL, NETX, NICX (QEMU option variants).

QEMU 7.2 (Debian 1:7.2+dfsg-7+deb12u18), TCG, RAM=256M: with pings every 5 or 50 ms during the
transfer, the guest crashed on the target within 1 to 5 migrations (virtio_net "output.0:id N is
not a head", general protection faults in the slab allocator): QEMU syncs a RAM block whose
length is a multiple of 256 KiB 64 pages at a time without re-arming the vCPU's TLB, and loses
pages the vCPU writes after that (plugins/vm/cmdline.h, ZERO_VM_TCG_RAM_PAD_KIB; fixed upstream
in 9.0 by 03bfc2188f). RAM=262152K takes QEMU's page-by-page path, which does.
"""
import json, os, socket, subprocess, sys, time
W = sys.argv[1]; NS = 'mexp'; NSP = 'mexpp'
# As zerod gives a TCG guest (plugins/vm/cmdline.h, ZERO_VM_TCG_RAM_PAD_KIB): 256 MiB and 8 KiB;
# RAM=256M shows QEMU 7.2's lost pages.
RAM = os.environ.get('RAM', '262152K')
PINGER = os.environ.get('ZERO_PINGER', 'zero-test-pinger')
append = open(f'{W}/append').read().strip()
def sh(c, check=True): return subprocess.run(c, shell=True, check=check)
def setup():
    sh(f'ip netns del {NS} 2>/dev/null; ip netns del {NSP} 2>/dev/null', check=False)
    sh(f'ip netns add {NS}; ip netns add {NSP}; ip -n {NS} link set lo up')
    sh(f'ip -n {NS} link add br0 type bridge; ip -n {NS} addr add 10.68.0.1/24 dev br0; ip -n {NS} link set br0 up')
    for t in ('ta', 'tb'):
        sh(f'ip -n {NS} tuntap add {t} mode tap; ip -n {NS} link set {t} master br0 up')
    sh(f'ip link add pv netns {NS} type veth peer pp netns {NSP}; ip -n {NS} link set pv master br0 up')
    sh(f'ip -n {NSP} addr add 10.68.0.250/24 dev pp; ip -n {NSP} link set pp up; ip -n {NSP} link set lo up')
class QMP:
    def __init__(s, path):
        for _ in range(200):
            try:
                s.s = socket.socket(socket.AF_UNIX); s.s.connect(path); break
            except OSError: time.sleep(0.05)
        s.events = []  # (name, QEMU's timestamp in s) of the events read so far
        s.f = s.s.makefile('rw'); json.loads(s.f.readline()); s.cmd('qmp_capabilities')
    def cmd(s, c, **a):
        s.f.write(json.dumps({'execute': c, 'arguments': a}) + '\n'); s.f.flush()
        while True:
            r = json.loads(s.f.readline())
            if 'event' in r: s.events.append((r['event'], r['timestamp']['seconds'] + r['timestamp']['microseconds'] / 1e6))
            if 'return' in r or 'error' in r: return r
    def last(s, name):
        t = [ts for n, ts in s.events if n == name]
        return t[-1] if t else None
def qemu(name, tap, incoming):
    args = ['nsenter', f'--net=/run/netns/{NS}', 'qemu-system-x86_64', '-nodefaults', '-no-user-config', '-machine', 'q35,memory-backend=mem',
            '-accel', os.environ.get('ACCEL', 'tcg'), '-cpu', 'max', '-smp', '1', '-object', os.environ.get('MEMOBJ', f'memory-backend-memfd,id=mem,size={RAM},share=on'), '-m', RAM,
            '-display', 'none', '-serial', f'file:{W}/{name}.console', '-qmp', f'unix:{W}/{name}.qmp,server=on,wait=off', '-no-reboot',
            '-kernel', f'{W}/vmlinuz', '-initrd', f'{W}/initrd.img', '-append', append,
            '-device', 'pcie-root-port,id=ps,chassis=1,bus=pcie.0,addr=0x2.0x0,multifunction=on', '-device', 'virtio-scsi-pci,id=scsi0,bus=ps',
            '-device', 'pcie-root-port,id=pd0,chassis=2,bus=pcie.0,addr=0x2.0x1',
            '-blockdev', f'driver=qcow2,node-name=d0,file.driver=file,file.filename={W}/root.qcow2,file.locking=off',
            '-device', 'virtio-blk-pci,id=disk0,drive=d0,bus=pd0',
            '-device', 'pcie-root-port,id=pd1,chassis=3,bus=pcie.0,addr=0x2.0x2',
            '-blockdev', f'driver=raw,node-name=d1,file.driver=file,file.filename={W}/data.raw,file.locking=off',
            '-device', 'virtio-blk-pci,id=disk1,drive=d1,bus=pd1',
            '-device', 'pcie-root-port,id=pn,chassis=4,bus=pcie.0,addr=0x2.0x3',
            '-netdev', f'tap,id=n0,ifname={tap},script=no,downscript=no' + os.environ.get('NETX', ''),
            '-device', f'virtio-net-pci,id=nic0,netdev=n0,mac={append.split("zero.mac=")[1].split()[0]},bus=pn,romfile=' + os.environ.get('NICX', '')]
    if incoming: args += ['-incoming', 'defer']
    for f in (f'{W}/{name}.console', f'{W}/{name}.qmp'):
        try: os.unlink(f)
        except FileNotFoundError: pass
    p = subprocess.Popen(args)
    return p, QMP(f'{W}/{name}.qmp')
def ticks(name):
    try: return [l for l in open(f'{W}/{name}.console', errors='replace') if l.startswith('TICK')]
    except FileNotFoundError: return []
def bad(name):
    return [l.strip() for l in open(f'{W}/{name}.console', errors='replace') if 'BUG' in l or 'not a head' in l or 'panic' in l or 'protection fault' in l or 'DIRTIER LOST' in l or 'DIRTIER-EXIT' in l]
def main():
    n = int(sys.argv[2]); pause = len(sys.argv) > 3 and sys.argv[3] == 'pause'
    setup()
    names = ['a', 'b']; taps = {'a': 'ta', 'b': 'tb'}
    cur, q = qemu('a', 'ta', False)
    for _ in range(600):
        if len(ticks('a')) >= 3: break
        time.sleep(0.1)
    print('booted', len(ticks('a')), flush=True)
    port = 4444
    for i in range(n):
        src, dst = names[i % 2], names[(i + 1) % 2]
        late = os.environ.get('LATEPING')
        start_pinger = lambda: subprocess.Popen(['nsenter', f'--net=/run/netns/{NSP}', PINGER, os.environ.get('PINGIP', '10.68.0.2'), os.environ.get('PINGMS', '5')], stdout=subprocess.PIPE, text=True)
        pinger = None if late else start_pinger()
        time.sleep(1)
        tp, tq = qemu(dst, taps[dst], True)
        tq.cmd('migrate-set-capabilities', capabilities=[{'capability': 'events', 'state': True}] )
        port += 1
        print(tq.cmd('migrate-incoming', uri=f'tcp:127.0.0.1:{port}'), flush=True)
        # zerod's own settings (plugins/vm/migrate.h): a 30 ms downtime limit, 10 GiB/s, auto-converge
        caps = [{'capability': 'events', 'state': True}, {'capability': 'auto-converge', 'state': True}]
        if pause: caps.append({'capability': 'pause-before-switchover', 'state': True})
        q.cmd('migrate-set-capabilities', capabilities=caps)
        q.cmd('migrate-set-parameters', **{'downtime-limit': int(os.environ.get('DOWNTIME_MS', '30')), 'max-bandwidth': 10 << 30})
        print(q.cmd('migrate', uri=f'tcp:127.0.0.1:{port}'), flush=True)
        while True:
            st = q.cmd('query-migrate')['return']
            if st.get('status') == 'pre-switchover':
                if late and not pinger: pinger = start_pinger()
                time.sleep(float(os.environ.get('PAUSE_S', '0.1'))); q.cmd('migrate-continue', state='pre-switchover')
            if st.get('status') in ('completed', 'failed', 'cancelled'): break
            time.sleep(0.01)
        time.sleep(0.2)
        st = q.cmd('query-migrate')['return']
        tq.cmd('query-status')  # the target's events read
        stop, resume = q.last('STOP'), tq.last('RESUME')
        pause = f'{(resume - stop) * 1000:.1f}' if stop and resume else '-'
        q.cmd('quit'); cur.wait()
        cur, q = tp, tq
        time.sleep(2.5)
        pinger.terminate(); out = pinger.communicate()[0].strip()
        print(f'{src}->{dst}: {st.get("status")} downtime {st.get("downtime")} total {st.get("total-time")}; {out}; pause_ms {pause}; ticks {len(ticks(dst))}; bad {bad(dst)[:3]}', flush=True)
        if bad(dst): break
    q.cmd('quit'); cur.wait()
    sh(f'ip netns del {NS}; ip netns del {NSP}', check=False)
main()
