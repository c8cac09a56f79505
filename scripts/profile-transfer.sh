#!/usr/bin/env bash
# Profiles both MTAs of a two-MTA site while N messages of 1 KiB go from SRV-A to SRV-B (the
# throughput bench's path): node --cpu-prof in each MTA, then the top self-time items of each.
# Usage: scripts/profile-transfer.sh [N] [DIR]   (default 30000, /tmp/xcon-prof)
set -euo pipefail
n=${1:-30000}
dir=${2:-/tmp/xcon-prof}
root=$(cd "$(dirname "$0")/.." && pwd)
xcon="node $root/packages/cli/bin/xcon.js"
rm -rf "$dir" && mkdir -p "$dir/prof"
printf 'sites:\n  CORP: { secret: prof, servers: [SRV-A, SRV-B] }\ndefaults: { build: 2653, timeScale: 600, controlBlocks: 20, traffic: off }\n' > "$dir/topology.yaml"
XCON_NODE_FLAGS="--max-semi-space-size=4 --interrupt-budget=270336 --v8-pool-size=1 --cpu-prof --cpu-prof-dir=$dir/prof" $xcon up -d --topology "$dir/topology.yaml" --data "$dir/site" > /dev/null
b_admin=$(node -e "console.log(require('$dir/site/site.json').servers['SRV-B'].adminPort)")
start=$(date +%s.%N)
$xcon send --from SRV-A --to user1@SRV-B --count "$n" --size 1024 --data "$dir/site" > /dev/null
echo "submitted in $(echo "$(date +%s.%N) - $start" | bc) s"
until [ "$(curl -s "http://127.0.0.1:$b_admin/status" | node -e "let s='';process.stdin.on('data',c=>s+=c).on('end',()=>console.log(JSON.parse(s).delivered))")" -ge "$n" ]; do sleep 0.2; done
end=$(date +%s.%N)
echo "$n messages in $(echo "$end - $start" | bc) s"
$xcon down --data "$dir/site" > /dev/null
for f in "$dir"/prof/*.cpuprofile; do echo "== $f"; node "$root/scripts/profile-top.mjs" "$f" 15; done
