#!/usr/bin/env bash
# Builds a Node base image from this machine's own Node runtime, for a Docker engine that cannot
# pull from a registry: the node binary and the libraries ldd lists, npm, busybox as the shell,
# the CA bundle, and a `node` user (uid 1000) as in the official image. Then build xcon with:
#   docker build --build-arg BASE_IMAGE=xcon-node-base:20 -t xcon .
# Usage: scripts/build-offline-base-image.sh [TAG]   (default xcon-node-base:20)
set -euo pipefail
tag=${1:-xcon-node-base:20}
node_bin=$(readlink -f "$(command -v node)")
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
busybox=$(command -v busybox || true)
if [ -z "$busybox" ]; then
  echo "busybox is needed for the image's shell: apt-get install -y busybox-static" >&2
  exit 1
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{usr/local/bin,usr/local/lib/node_modules,usr/bin,bin,etc/ssl/certs,tmp,home/node,root}
cp "$node_bin" "$root/usr/local/bin/node"
# The dynamic loader and every shared library node links against, at the same paths.
for lib in $(ldd "$node_bin" | awk '/=>/ { print $3 } /ld-linux/ { print $1 }'); do
  cp -L --parents "$lib" "$root"
done
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
cp "$(readlink -f "$busybox")" "$root/bin/busybox"
for applet in sh ash env cat cp chmod chown ls ln mkdir mv rm sleep wget; do ln -s busybox "$root/bin/$applet"; done
ln -s /bin/busybox "$root/usr/bin/env"   # npm's scripts start with #!/usr/bin/env node
# This machine's trust store, and NODE_EXTRA_CA_CERTS below, so npm in the image trusts what the host trusts.
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nnode:x:1000:\n' > "$root/etc/group"
printf 'hosts: files dns\n' > "$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/node"

tar -C "$root" --numeric-owner -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'ENV NODE_VERSION='"$("$node_bin" --version | tr -d v)" \
  -c 'CMD ["node"]' \
  - "$tag" > /dev/null
echo "built $tag from $node_bin ($("$node_bin" --version)) and $(ldd "$node_bin" | grep -c '=>') libraries"
