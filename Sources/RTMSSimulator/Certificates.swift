// Throwaway TLS material for the simulator: a CA and a server certificate it signs, for
// localhost, 127.0.0.1 and ::1 (plus any extra names). Generated in memory at start.

import Crypto
import FoundationEssentials
import SwiftASN1
import X509

#if canImport(Glibc)
import Glibc
#endif

public struct GeneratedTLS: Sendable {
    /// Writes ca.pem, cert.pem (the chain) and key.pem into `dir` (each atomically; the folder is
    /// created when missing), unless all three are there already. Returns the three paths.
    public static func prepare(in dir: String) throws -> (ca: String, certificate: String, key: String) {
        let paths = (ca: dir + "/ca.pem", certificate: dir + "/cert.pem", key: dir + "/key.pem")
        let present = [paths.ca, paths.certificate, paths.key].allSatisfy { (p: String) -> Bool in access(p, R_OK) == 0 }
        if present { return paths }
        // The folder too, when missing (one level at a time, like mkdir -p).
        var prefix = dir.hasPrefix("/") ? "/" : ""
        for part in dir.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) != 0 && errno != EEXIST { throw SimulatorError("cannot create \(prefix)") }
            prefix += "/"
        }
        let g = try make()
        try writeFile(paths.key, g.privateKeyPEM)
        try writeFile(paths.certificate, g.certificateChainPEM)
        try writeFile(paths.ca, g.caPEM)
        return paths
    }

    /// PEM of the CA certificate: what a client trusts (ZM_RTMS_CA, rtms_init's ca_path).
    public let caPEM: String
    /// PEM chain of the server: leaf then CA.
    public let certificateChainPEM: String
    public let privateKeyPEM: String

    /// Creates a CA and a leaf for `dnsNames` and `ipAddresses`.
    public static func make(
        dnsNames: [String] = ["localhost"], ipAddresses: [[UInt8]] = [[127, 0, 0, 1], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]]
    ) throws -> GeneratedTLS {
        let now = Date()
        let caKey = P256.Signing.PrivateKey()
        let caName = try DistinguishedName {
            OrganizationName("OpenRTMS")
            CommonName("OpenRTMS Simulator Test CA")
        }
        let caCert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(caKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400 * 30),
            issuer: caName, subject: caName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: .init(caKey.publicKey))
            },
            issuerPrivateKey: .init(caKey))

        let leafKey = P256.Signing.PrivateKey()
        let leafName = try DistinguishedName {
            OrganizationName("OpenRTMS")
            CommonName(dnsNames.first ?? "localhost")
        }
        var sans: [GeneralName] = dnsNames.map { .dnsName($0) }
        sans += ipAddresses.map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) }
        let leafCert = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(leafKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(86400 * 30),
            issuer: caName, subject: leafName, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames(sans)
            },
            issuerPrivateKey: .init(caKey))

        let caPEM = try caCert.serializeAsPEM().pemString
        let leafPEM = try leafCert.serializeAsPEM().pemString
        return GeneratedTLS(
            caPEM: caPEM + "\n", certificateChainPEM: leafPEM + "\n" + caPEM + "\n",
            privateKeyPEM: leafKey.pemRepresentation + "\n")
    }
}
