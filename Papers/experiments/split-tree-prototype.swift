// A throwaway prototype, not a Lookup structure: how fast can a decision tree classify
// ClassBench headers in bursts, in plain Swift, on this kind of machine? It reads a rule set
// and a trace, builds a HyperSplit-style binary tree (Qi et al., INFOCOM 2009: at each node
// the dimension and weighted-segment median threshold that best halve the rules; a node whose
// best-ranked rule covers its whole box keeps that rule alone; leaves hold at most BINTH
// rules), then classifies the trace in groups of 16 keys walked in lockstep, one level per
// step, without branching on the keys (a leaf points to itself), and scans each key's leaf.
// It checks only ClassBench's five fields (no marks, if_id, ifindex, DSCP, contexts or IPv6)
// and cannot be updated: it answers "is 35 ns per lookup in bursts at 10k reachable with a
// tree?" (Papers/spd-performance.md) and nothing else. Answers are checked against a linear
// scan on the first 20,000 keys.
//
//   swiftc -O Papers/experiments/split-tree-prototype.swift -o /tmp/split-tree
//   /tmp/split-tree RULES TRACE [BINTH]     (BINTH: leaf size, default 8)
import Foundation

struct Rule { var lo: [UInt32]; var hi: [UInt32] }  // 5 dims
func ip(_ s: Substring) -> UInt32 { s.split(separator: ".").reduce(0) { $0 << 8 | UInt32($1)! } }
func parseRules(_ path: String) -> [Rule] {
  let text = try! String(contentsOfFile: path, encoding: .utf8)
  var rules: [Rule] = []
  for line in text.split(separator: "\n") {
    let f = line.dropFirst().split(separator: "\t")
    func pre(_ x: Substring) -> (UInt32, UInt32) {
      let p = x.split(separator: "/"); let n = Int(p[1])!; let a = ip(p[0])
      let mask: UInt32 = n == 0 ? 0 : ~0 << (32 - n)
      return (a & mask, (a & mask) | ~mask)
    }
    let s = pre(f[0]), d = pre(f[1])
    let sp = f[2].replacingOccurrences(of: " ", with: "").split(separator: ":").map { UInt32($0)! }
    let dp = f[3].replacingOccurrences(of: " ", with: "").split(separator: ":").map { UInt32($0)! }
    let pr = f[4].split(separator: "/"); let pv = UInt32(pr[0].dropFirst(2), radix: 16)!, pm = UInt32(pr[1].dropFirst(2), radix: 16)!
    let proto: (UInt32, UInt32) = pm == 0xFF ? (pv, pv) : (0, 255)
    rules.append(Rule(lo: [s.0, d.0, sp[0], dp[0], proto.0], hi: [s.1, d.1, sp[1], dp[1], proto.1]))
  }
  return rules
}
func parseTrace(_ path: String) -> [[UInt32]] {
  let text = try! String(contentsOfFile: path, encoding: .utf8)
  return text.split(separator: "\n").map { l in let f = l.split(separator: "\t"); return (0..<5).map { UInt32(f[$0])! } }
}

let rules = parseRules(CommandLine.arguments[1])
let keys = parseTrace(CommandLine.arguments[2])
let binth = Int(CommandLine.arguments.count > 3 ? CommandLine.arguments[3] : "8")!

// Build
var nodes: [UInt64] = []          // threshold | dim << 32 | left << 35
var leafOffset: [Int32] = []
var leafRules: [UInt32] = []
var maxDepth = 0, leafCount = 0
func covers(_ r: Rule, _ lo: [UInt32], _ hi: [UInt32]) -> Bool { (0..<5).allSatisfy { r.lo[$0] <= lo[$0] && r.hi[$0] >= hi[$0] } }
func makeLeaf(_ at: Int, _ ids: [Int]) {
  leafCount += 1
  nodes[at] = UInt64(7) << 32 | UInt64(at) << 35  // left = at-1 (biased), threshold 0 -> stays
  leafOffset[at] = Int32(leafRules.count)
  for i in ids { leafRules.append(UInt32(i)) }
  leafRules.append(UInt32.max)
}
func build(_ at: Int, _ idsIn: [Int], _ lo: [UInt32], _ hi: [UInt32], _ depth: Int) {
  maxDepth = max(maxDepth, depth)
  var ids = idsIn
  if covers(rules[ids[0]], lo, hi) { ids = [ids[0]] }
  if ids.count <= binth || depth >= 40 { makeLeaf(at, ids); return }
  var best: (score: Int, dim: Int, t: UInt32)? = nil
  for k in 0..<5 {
    // elementary points: rule starts and ends+1 clipped to (lo, hi]
    var events: [(UInt64, Int)] = []
    for i in ids {
      let a = max(rules[i].lo[k], lo[k]), b = min(rules[i].hi[k], hi[k])
      events.append((UInt64(a), 1)); events.append((UInt64(b) + 1, -1))
    }
    events.sort { $0.0 < $1.0 }
    // weighted segment median: weight of segment = rules covering it
    var segs: [(UInt64, Int)] = []  // (start, coverage)
    var cov = 0; var j = 0
    while j < events.count {
      let p = events[j].0
      while j < events.count && events[j].0 == p { cov += events[j].1; j += 1 }
      if p <= UInt64(hi[k]) { segs.append((p, cov)) }
    }
    if segs.count < 2 { continue }
    let total = segs.reduce(0) { $0 + $1.1 }
    var acc = 0; var t: UInt64 = segs.last!.0
    for s in 0..<(segs.count - 1) { acc += segs[s].1; if acc * 2 >= total { t = segs[s + 1].0; break } }
    if t <= UInt64(lo[k]) || t > UInt64(hi[k]) { continue }
    let tt = UInt32(t)
    var l = 0, r = 0
    for i in ids { if rules[i].lo[k] < tt { l += 1 }; if rules[i].hi[k] >= tt { r += 1 } }
    let score = max(l, r) * 4 + (l + r)
    if best == nil || score < best!.score { best = (score, k, tt) }
  }
  guard let b = best else { makeLeaf(at, ids); return }
  let L = ids.filter { rules[$0].lo[b.dim] < b.t }, R = ids.filter { rules[$0].hi[b.dim] >= b.t }
  if max(L.count, R.count) >= ids.count { makeLeaf(at, ids); return }
  let left = nodes.count
  nodes.append(0); nodes.append(0); leafOffset.append(-1); leafOffset.append(-1)
  nodes[at] = UInt64(b.t) | UInt64(b.dim) << 32 | UInt64(left + 1) << 35
  var hl = hi; hl[b.dim] = b.t - 1
  var lr = lo; lr[b.dim] = b.t
  build(left, L, lo, hl, depth + 1)
  build(left + 1, R, lr, hi, depth + 1)
}
let t0 = Date()
nodes.append(0); leafOffset.append(-1)
build(0, Array(rules.indices), [0, 0, 0, 0, 0], [UInt32.max, UInt32.max, 65535, 65535, 255], 0)
let buildMs = Date().timeIntervalSince(t0) * 1000
print("rules \(rules.count) nodes \(nodes.count) leaves \(leafCount) leaf entries \(leafRules.count) max depth \(maxDepth) build \(String(format: "%.1f", buildMs)) ms")

// Flat rule records for leaf checks: lo/hi per dim
var flat: [UInt32] = []
for r in rules { for k in 0..<5 { flat.append(r.lo[k]); flat.append(r.hi[k]) }; flat.append(0); flat.append(0); flat.append(0); flat.append(0); flat.append(0); flat.append(0) } // 16 words = 64 B
// key fields: 8 words per key
var fields: [UInt32] = []
for k in keys { fields += k; fields += [0, 0, 0] }

@inline(never)
func lookupBatch(_ nodes: UnsafePointer<UInt64>, _ leafOffset: UnsafePointer<Int32>, _ leafRules: UnsafePointer<UInt32>,
                 _ flat: UnsafePointer<UInt32>, _ fields: UnsafePointer<UInt32>, count: Int, depth: Int,
                 _ out: UnsafeMutablePointer<UInt32>) {
  let group = 16
  var base = 0
  var idx = [Int](repeating: 0, count: group)
  idx.withUnsafeMutableBufferPointer { idx in
    while base < count {
      let g = min(group, count - base)
      for i in 0..<g { idx[i] = 0 }
      for _ in 0..<depth {
        var inner = 0
        for i in 0..<g {
          let n = nodes[idx[i]]
          let dim = Int(truncatingIfNeeded: n >> 32) & 7
          let v = fields[(base + i) * 8 + dim]
          let ge = v >= UInt32(truncatingIfNeeded: n) ? 1 : 0
          inner |= 7 &- dim
          idx[i] = Int(truncatingIfNeeded: n >> 35) - 1 + ge
        }
        if inner == 0 { break }
      }
      for i in 0..<g {
        var p = Int(leafOffset[idx[i]])
        let f = fields + (base + i) * 8
        var result = UInt32.max
        while true {
          let r = leafRules[p]
          if r == UInt32.max { break }
          let rr = flat + Int(r) * 16
          if f[0] &- rr[0] <= rr[1] &- rr[0] && f[1] &- rr[2] <= rr[3] &- rr[2] && f[2] &- rr[4] <= rr[5] &- rr[4]
            && f[3] &- rr[6] <= rr[7] &- rr[6] && f[4] &- rr[8] <= rr[9] &- rr[8] { result = r; break }
          p += 1
        }
        out[base + i] = result
      }
      base += g
    }
  }
}
var out = [UInt32](repeating: 0, count: keys.count)
// verify against brute force on the first 20000 keys
func brute(_ k: [UInt32]) -> UInt32 {
  for (i, r) in rules.enumerated() where (0..<5).allSatisfy({ r.lo[$0] <= k[$0] && k[$0] <= r.hi[$0] }) { return UInt32(i) }
  return UInt32.max
}
nodes.withUnsafeBufferPointer { n in leafOffset.withUnsafeBufferPointer { lo in leafRules.withUnsafeBufferPointer { lr in
  flat.withUnsafeBufferPointer { fl in fields.withUnsafeBufferPointer { fi in out.withUnsafeMutableBufferPointer { o in
    lookupBatch(n.baseAddress!, lo.baseAddress!, lr.baseAddress!, fl.baseAddress!, fi.baseAddress!, count: keys.count, depth: maxDepth + 1, o.baseAddress!)
    var bad = 0
    for i in 0..<min(20000, keys.count) where brute(keys[i]) != o[i] { bad += 1 }
    print("mismatches in first 20000: \(bad)")
    var times: [Double] = []
    for _ in 0..<7 {
      let s = DispatchTime.now().uptimeNanoseconds
      lookupBatch(n.baseAddress!, lo.baseAddress!, lr.baseAddress!, fl.baseAddress!, fi.baseAddress!, count: keys.count, depth: maxDepth + 1, o.baseAddress!)
      times.append(Double(DispatchTime.now().uptimeNanoseconds - s) / Double(keys.count))
    }
    times.sort()
    print("ns/lookup (bursts of 16 in lockstep, 7 passes): median \(String(format: "%.1f", times[3])) min \(String(format: "%.1f", times[0]))")
  }}}
}}}
