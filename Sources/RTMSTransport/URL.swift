// WebSocket and proxy URLs: scheme://[user[:password]@]host[:port][/path][?query]

public struct EndpointURL: Sendable, Equatable, CustomStringConvertible {
    public var tls: Bool
    public var host: String
    public var port: Int
    /// Path and query as sent in the request line ("/" when empty).
    public var target: String
    public var user: String?
    public var password: String?
    public var scheme: String

    public var description: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(h):\(port)\(target)"
    }

    /// Whether the host is a literal IPv4 or IPv6 address (certificates are then checked by IP).
    public var hostIsIPAddress: Bool { EndpointURL.isIPAddress(host) }

    /// The Host header value: host, plus the port when it is not the scheme's default.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (tls ? 443 : 80) ? h : "\(h):\(port)"
    }

    public init(tls: Bool, host: String, port: Int, target: String = "/", scheme: String? = nil) {
        self.tls = tls; self.host = host; self.port = port; self.target = target
        self.scheme = scheme ?? (tls ? "wss" : "ws")
    }

    /// Parses a WebSocket URL (`ws`, `wss`; Zoom's own `wtcp`/`wssl` spellings too) or, with
    /// `proxy: true`, an HTTP(S) proxy URL.
    public init(parsing text: String, proxy: Bool = false) throws(EndpointURLError) {
        var s = Substring(text)
        guard let sep = s.range(of: "://") else {
            throw EndpointURLError(url: text, reason: "no scheme (expected \(proxy ? "http:// or https://" : "ws:// or wss://"))")
        }
        let scheme = s[..<sep.lowerBound].lowercased()
        s = s[sep.upperBound...]
        let tls: Bool
        switch (scheme, proxy) {
        case ("ws", false), ("wtcp", false): tls = false
        case ("wss", false), ("wssl", false): tls = true
        case ("http", true): tls = false
        case ("https", true): tls = true
        default:
            throw EndpointURLError(url: text, reason: "unsupported scheme '\(scheme)'")
        }
        let authorityEnd = s.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? s.endIndex
        var authority = s[..<authorityEnd]
        var rest = s[authorityEnd...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var user: String? = nil, password: String? = nil
        if let at = authority.lastIndex(of: "@") {
            let cred = authority[..<at]
            authority = authority[authority.index(after: at)...]
            if let colon = cred.firstIndex(of: ":") {
                user = String(cred[..<colon]).removingPercentEncoding
                password = String(cred[cred.index(after: colon)...]).removingPercentEncoding
            } else {
                user = String(cred).removingPercentEncoding
            }
        }
        var host: Substring
        var portText: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw EndpointURLError(url: text, reason: "unterminated IPv6 address")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") {
                portText = after.dropFirst()
            } else if !after.isEmpty {
                throw EndpointURLError(url: text, reason: "unexpected text after IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw EndpointURLError(url: text, reason: "no host") }
        var port = tls ? 443 : 80
        if let portText {
            guard let p = Int(portText), p > 0, p < 65536 else {
                throw EndpointURLError(url: text, reason: "invalid port '\(portText)'")
            }
            port = p
        }
        var target = String(rest)
        if target.isEmpty { target = "/" } else if target.hasPrefix("?") { target = "/" + target }
        self.tls = tls
        self.host = String(host)
        self.port = port
        self.target = target
        self.user = user
        self.password = password
        self.scheme = scheme
    }

    static func isIPAddress(_ h: String) -> Bool {
        if h.contains(":") { return true }  // IPv6 literal
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4
            && parts.allSatisfy { p in
                !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isNumber) && Int(p).map { $0 <= 255 } == true
            }
    }
}

public struct EndpointURLError: Error, Sendable, CustomStringConvertible {
    public var url: String
    public var reason: String
    public var description: String { "invalid URL '\(url)': \(reason)" }
}

extension StringProtocol {
    func range(of needle: String) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            if self[i...].hasPrefix(needle) {
                return i..<index(i, offsetBy: needle.count)
            }
            i = index(after: i)
        }
        return nil
    }
}

extension String {
    var removingPercentEncoding: String {
        var out = [UInt8]()
        let u = Array(utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "%"), i + 2 < u.count, let v = UInt8(String(decoding: u[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
