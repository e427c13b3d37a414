// Handshake signatures and webhook signing, both HMAC-SHA256 with lowercase hex output.

import Crypto

public enum Signatures {
    /// The handshake signature: hex(HMAC-SHA256(key: client secret, "client_id,instance_id,stream_id")).
    public static func handshake(clientID: String, clientSecret: String, instanceID: String, streamID: String) -> String {
        hmacHex(key: clientSecret, message: Array("\(clientID),\(instanceID),\(streamID)".utf8))
    }

    /// `x-zm-signature` of a webhook: "v0=" + hex(HMAC-SHA256(secret token, "v0:{timestamp}:{body}")).
    public static func webhook(secretToken: String, timestamp: String, body: [UInt8]) -> String {
        var msg = Array("v0:\(timestamp):".utf8)
        msg.append(contentsOf: body)
        return "v0=" + hmacHex(key: secretToken, message: msg)
    }

    /// `encryptedToken` answering an `endpoint.url_validation` challenge.
    public static func urlValidation(secretToken: String, plainToken: String) -> String {
        hmacHex(key: secretToken, message: Array(plainToken.utf8))
    }

    /// Constant-time comparison of two signature strings.
    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    public static func hmacHex(key: String, message: [UInt8]) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(key.utf8)))
        return hex(mac)
    }

    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
