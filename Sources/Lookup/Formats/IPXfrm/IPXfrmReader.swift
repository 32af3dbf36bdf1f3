/// Reads the text `ip xfrm policy list`, `ip xfrm state list` and `ip xfrm policy getdefault`
/// print (iproute2's `xfrm_policy_info_print` / `xfrm_state_info_print`), in the plain form and
/// the `-s` statistics form, into Lookup's `Policy` and `SecurityAssociation` values.
///
/// The three outputs may be concatenated in any order; blank lines between entries are allowed.
/// Every line is either read into the model or recognised and deliberately ignored because it
/// carries nothing Lookup models (lifetimes, statistics, algorithms and keys, anti-replay
/// state, encapsulation, care-of address, `lastused`, offload, `tfcpad`, SA `dir`, `pcpu-num`,
/// `share`, `enc-mask`, `uid`, flags). Anything else is an error: the read either returns
/// everything or throws a `FormatError` naming the line, the column and what was expected.
/// Lines Lookup cannot represent faithfully — a `security context`, a per-socket policy, the
/// Mobile IPv6 protocols `route2`/`hao` and modes `ro`/`in_trigger` — are errors too.
///
/// What the reader builds:
/// - Selectors keep prefixes as written (host bits included). `sport`/`dport` become exact
///   port selectors; ICMP/ICMPv6 `type`/`code` go to the source/destination port selectors,
///   the mobility header's `type` to the source port; a GRE `key N` becomes source port
///   `N >> 16` and destination port `N & 0xffff`, both exact. `proto 0` or no `proto` is any.
///   `dev NAME` becomes an ifindex through `interfaces`, then the C library, then `ip`'s own
///   fallback spelling `ifN`.
/// - Policies: `action` defaults to allow, `ptype` to main, `index` to 0 (the plain form does
///   not print it). Templates take their family from their addresses; `level use` is
///   `isOptional`. Index/direction consistency is checked only when a table inserts them.
/// - SAs: id 0; a wildcard source (`0.0.0.0`, `::`) stays unspecified; the replay window is
///   the ESN block's `replay_window` when there is one (the kernel then prints
///   `replay-window 0` on the SA's third line), else the third line's. SPI, CPI and window
///   limits are checked as `SecurityAssociation.init` checks them, reported at the column.
///
/// A mobility-header `(dport) 0xNNNN` token (`ip -s` prints the raw network-order field) is
/// read as a little-endian host printed it, as on every Linux platform Lookup targets.
public enum IPXfrmReader {
  /// Reads a dump.
  /// - Parameters:
  ///   - text: the output of `ip [-s] xfrm policy list`, `ip [-s] xfrm state list` and/or
  ///     `ip xfrm policy getdefault`.
  ///   - file: the name to put in errors (a path or a label such as `<stdin>`).
  ///   - interfaces: interface name → ifindex for selectors' `dev NAME`; names not in it are
  ///     looked up with `if_nametoindex` in the calling process's namespace.
  /// - Returns: the policies and SAs in dump order (newest first) and the default actions.
  /// - Throws: `FormatError` at the first line that is not valid `ip xfrm` output.
  /// - Complexity: O(n) in the length of the text.
  public static func read(_ text: String, file: String, interfaces: [String: UInt32] = [:])
  throws(FormatError) -> IPXfrmDump {
    var parser = IPXfrmParser(file: file, interfaces: interfaces)
    return try parser.parse(text)
  }
}
