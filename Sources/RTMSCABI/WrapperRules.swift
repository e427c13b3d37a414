// Rules of Zoom's Python and Node wrappers that are not the protocol's: the signature helper
// whose environment variables override its arguments, and the CA bundle search. The bindings
// call these instead of keeping copies of their own.

import CRTMS
import RTMSClient
import RTMSProtocol

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@c @implementation public func rtms_wrapper_signature(
    _ client_id: UnsafePointer<CChar>?, _ client_secret: UnsafePointer<CChar>?, _ instance_id: UnsafePointer<CChar>?, _ rtms_stream_id: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<CChar>?, _ out_len: Int32
) -> Int32 {
    // The credentials first, as Zoom's wrappers check them.
    let credentials: (String, String)
    do {
        credentials = try RTMSClient.firstCredentials([
            (getenvString("ZM_RTMS_CLIENT"), getenvString("ZM_RTMS_SECRET")), (str(client_id), str(client_secret)),
        ])
    } catch {
        return fail(Int32(error.code), error.message)
    }
    return sign(credentials.0, credentials.1, instance_id, rtms_stream_id, out, out_len, "rtms_wrapper_signature")
}

/// The ids checked, then the handshake signature and a NUL written into out (both signature
/// functions end here).
func sign(
    _ id: String, _ secret: String, _ instance_id: UnsafePointer<CChar>?, _ rtms_stream_id: UnsafePointer<CChar>?,
    _ out: UnsafeMutablePointer<CChar>?, _ out_len: Int32, _ function: String
) -> Int32 {
    guard let inst = str(instance_id), !inst.isEmpty else { return fail(Code.invalidArgs, "\(function): instance_id is empty") }
    guard let stream = str(rtms_stream_id), !stream.isEmpty else { return fail(Code.invalidArgs, "\(function): rtms_stream_id is empty") }
    guard let out, out_len >= 65 else { return fail(Code.invalidArgs, "\(function): out needs at least 65 bytes") }
    let sig = Array(Signatures.handshake(clientID: id, clientSecret: secret, instanceID: inst, streamID: stream).utf8)
    for i in 0..<sig.count { out[i] = CChar(bitPattern: sig[i]) }
    out[sig.count] = 0
    clearLastError()
    return Code.ok
}

/// The system bundles Zoom's Node wrapper looks for, in its order (its Python wrapper uses the
/// same list without the last entry).
let systemCABundles = [
    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem",
    "/etc/pki/tls/cacert.pem", "/etc/ssl/cert.pem", "/usr/local/etc/openssl/cert.pem",
    "/opt/homebrew/etc/openssl/cert.pem",
]

@c @implementation public func rtms_find_ca(_ specified_path: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    out?.pointee = nil
    guard let out else { return -fail(Code.invalidArgs, "rtms_find_ca: out is NULL") }
    let candidates = [str(specified_path), getenvString("ZM_RTMS_CA")] + systemCABundles.map { Optional($0) }
    let found = candidates.lazy.compactMap { $0 }.first { !$0.isEmpty && access($0, F_OK) == 0 } ?? ""
    guard let p = mallocString(Array(found.utf8)) else { return -fail(Code.failure, "rtms_find_ca: out of memory") }
    out.pointee = p
    clearLastError()
    return Int32(found.utf8.count)
}
