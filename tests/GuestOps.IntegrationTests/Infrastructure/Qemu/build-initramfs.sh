#!/usr/bin/env bash
# Builds the initramfs of the test KVM guest: busybox, Debian's qemu-ga with the shared libraries it needs, PAM
# (libpam, pam_unix and a Debian-like /etc/pam.d), OpenSSL's libraries (as on any Debian guest; the tools need them), one guest account, the virtio-serial kernel modules of KERNEL_VERSION,
# and an /init that brings up the virtio-serial ports and keeps one qemu-ga running on each port named
# org.qemu.guest_agent.N (normally just .0; the benchmark adds .1 for its raw-agent side).
#
# usage: build-initramfs.sh OUTPUT KERNEL_VERSION USER PASSWORD
# Needs: busybox-static, qemu-guest-agent, whois (mkpasswd), cpio, gzip, and the kernel's modules under /lib/modules.
set -euo pipefail

out=$1 kver=$2 user=$3 password=$4
modules=/lib/modules/$kver
multiarch=x86_64-linux-gnu

need() { command -v "$1" >/dev/null 2>&1 || { echo "missing $1: apt-get install $2" >&2; exit 3; }; }
need busybox busybox-static
need mkpasswd whois
need cpio cpio
need gzip gzip
[[ -x /usr/sbin/qemu-ga ]] || { echo "missing /usr/sbin/qemu-ga: apt-get install qemu-guest-agent" >&2; exit 3; }
[[ -d $modules ]] || { echo "missing $modules: apt-get install linux-image-amd64" >&2; exit 3; }
busybox_path=$(command -v busybox)
file -L "$busybox_path" 2>/dev/null | grep -q 'statically linked' || ldd "$busybox_path" 2>&1 | grep -q 'not a dynamic' \
    || { echo "$busybox_path is not static: apt-get install busybox-static" >&2; exit 3; }

root=$(mktemp -d)
chmod 0755 "$root" # the guest's /: mktemp makes it 0700, which no guest user could traverse
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/$multiarch/security,lib64,lib/modules,etc/pam.d,proc,sys,dev,run,tmp,var/tmp,var/lib,root,home/$user}
ln -s ../run "$root/var/run"
chmod 1777 "$root/tmp" "$root/var/tmp"
chmod 0700 "$root/root"

cp "$busybox_path" "$root/bin/busybox"
cp /usr/sbin/qemu-ga "$root/usr/sbin/qemu-ga"
for module in pam_unix pam_permit pam_deny; do
    cp "/lib/$multiarch/security/$module.so" "$root/lib/$multiarch/security/"
done

# Every shared library the ELF files above need, plus what a Debian guest has and the tools worker opens by name:
# libpam (PAM logons) and OpenSSL's libssl3/libcrypto3 (.NET's System.Security.Cryptography; without them the worker
# aborts with "No usable version of libssl was found").
opened=(/lib/$multiarch/libpam.so.0 /usr/lib/$multiarch/libssl.so.3 /usr/lib/$multiarch/libcrypto.so.3)
libraries() { ldd "$@" 2>/dev/null | awk '/=> \//{print $3} /^\t\/lib64\//{print $1}'; }
for library in $(libraries "$root/usr/sbin/qemu-ga" "$root"/lib/$multiarch/security/*.so "${opened[@]}" | sort -u) "${opened[@]}"; do
    case $library in
        /lib64/*) cp -L "$library" "$root/lib64/" ;;
        *) cp -L "$library" "$root/lib/$multiarch/" ;;
    esac
done

# Kernel modules for virtio-pci and virtio-serial, in load order (none when the kernel has them built in).
: > "$root/lib/modules/load-order"
for name in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci virtio_console; do
    path=$(awk -F: -v n="/$name.ko" 'index($1, n) && substr($1, length($1) - length(n) + 1) == n {print $1; exit}' "$modules/modules.dep")
    [[ -n $path ]] || continue
    case $path in
        *.ko) cp "$modules/$path" "$root/lib/modules/$name.ko" ;;
        *.ko.xz) xz -dc "$modules/$path" > "$root/lib/modules/$name.ko" ;;
        *.ko.zst) zstd -qdc "$modules/$path" > "$root/lib/modules/$name.ko" ;;
        *) continue ;;
    esac
    echo "$name" >> "$root/lib/modules/load-order"
done

# Accounts and PAM as on a Debian guest: pam.d/other falls back to the common-* stacks, which use pam_unix.
hash=$(mkpasswd -m sha-512 "$password")
cat > "$root/etc/passwd" <<PASSWD
root:x:0:0:root:/root:/bin/sh
$user:x:1000:1000:$user:/home/$user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$root/etc/group" <<GROUP
root:x:0:
users:x:100:
$user:x:1000:
nogroup:x:65534:
GROUP
cat > "$root/etc/shadow" <<SHADOW
root:*:19000:0:99999:7:::
$user:$hash:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
SHADOW
chmod 0640 "$root/etc/shadow"
chown 1000:1000 "$root/home/$user"
chmod 0700 "$root/home/$user"
echo 'passwd: files
group: files
shadow: files
hosts: files' > "$root/etc/nsswitch.conf"
echo '/bin/sh' > "$root/etc/shells"
echo 'qemu-guest' > "$root/etc/hostname"
echo '127.0.0.1 localhost qemu-guest' > "$root/etc/hosts"
echo 'auth required pam_unix.so nullok' > "$root/etc/pam.d/common-auth"
echo 'account required pam_unix.so' > "$root/etc/pam.d/common-account"
echo 'session required pam_permit.so' > "$root/etc/pam.d/common-session"
echo 'password required pam_unix.so sha512' > "$root/etc/pam.d/common-password"
printf '@include common-auth\n@include common-account\n@include common-password\n@include common-session\n' > "$root/etc/pam.d/other"

cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /dev/virtio-ports
mount -t devpts devpts /dev/pts
hostname -F /etc/hostname
ip link set lo up 2>/dev/null
while read -r module; do insmod "/lib/modules/$module.ko" || echo "init: insmod $module failed"; done < /lib/modules/load-order
# What udev would do: /dev/virtio-ports/<name> for each named virtio-serial port.
tries=0
until ls /sys/class/virtio-ports/*/name >/dev/null 2>&1 || [ $tries -ge 100 ]; do sleep 0.1; tries=$((tries + 1)); done
for port in /sys/class/virtio-ports/*; do
    [ -r "$port/name" ] && ln -sf "/dev/${port##*/}" "/dev/virtio-ports/$(cat "$port/name")"
done
echo "init: virtio ports: $(ls /dev/virtio-ports)"
# busybox init reaps orphans and restarts an agent that exits: one qemu-ga per org.qemu.guest_agent.N port.
echo '::shutdown:/bin/sync' > /etc/inittab
for port in /dev/virtio-ports/org.qemu.guest_agent.*; do
    [ -e "$port" ] || continue
    n=${port##*.}
    mkdir -p "/run/qemu-ga.$n"
    echo "::respawn:/usr/sbin/qemu-ga -m virtio-serial -p $port -t /run/qemu-ga.$n -f /run/qemu-ga.$n/pid" >> /etc/inittab
done
exec /bin/busybox init
INIT
chmod 0755 "$root/init"

# cpio --owner would flatten the guest account's home; keep real owners (root builds the image).
(cd "$root" && find . -print0 | cpio --null --create --format=newc --quiet) | gzip -6 > "$out.tmp"
mv "$out.tmp" "$out"
