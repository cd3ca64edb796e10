@testable import ConiferAWS
import Foundation
import Testing

/// The signer against AWS's published vectors: the Signature Version 4 test suite (service "service",
/// 2015-08-30T12:36:00Z) and the worked examples of the S3 documentation (2013-05-24).
@Suite struct SigV4Tests {
    static let suite = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service"
    )
    static let s3 = SigV4Signer(
        credentials: AWSCredentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3"
    )
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let empty = SigV4Signer.payloadHash(Data())

    static func authorization(_ signer: SigV4Signer, _ method: String, _ url: String, _ headers: [(name: String, value: String)] = [],
                              payload: String = "", date: Date) -> String? {
        let signed = signer.signedHeaders(method: method, url: URL(string: url)!, headers: headers, payloadHash: SigV4Signer.payloadHash(Data(payload.utf8)), date: date)
        return signed.first { $0.name == "authorization" }?.value
    }

    @Test(arguments: [
        ("GET", "https://example.amazonaws.com/", [], "host;x-amz-date", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", "https://example.amazonaws.com/", [], "host;x-amz-date", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("GET", "https://example.amazonaws.com/?Param2=value2&Param1=value1", [], "host;x-amz-date",
         "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        ("POST", "https://example.amazonaws.com/", [("My-Header1", "VALUE1")], "host;my-header1;x-amz-date",
         "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        ("GET", "https://example.amazonaws.com/", [("My-Header1", " value1"), ("My-Header2", "\"a   b   c\"")], "host;my-header1;my-header2;x-amz-date",
         "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        ("GET", "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", [], "host;x-amz-date",
         "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    ] as [(String, String, [(name: String, value: String)], String, String)])
    func theSignatureTestSuite(_ method: String, _ url: String, _ headers: [(name: String, value: String)], _ signed: String, _ signature: String) {
        let expected = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(signed), Signature=\(signature)"
        #expect(Self.authorization(Self.suite, method, url, headers, date: Self.suiteDate) == expected)
    }

    @Test func theS3DocumentationExamples() {
        func expected(_ signed: String, _ signature: String) -> String {
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=\(signed), Signature=\(signature)"
        }
        #expect(
            Self.authorization(Self.s3, "GET", "https://examplebucket.s3.amazonaws.com/test.txt", [("Range", "bytes=0-9")], date: Self.s3Date)
                == expected("host;range;x-amz-content-sha256;x-amz-date", "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        )
        #expect(
            Self.authorization(Self.s3, "GET", "https://examplebucket.s3.amazonaws.com/?max-keys=2&prefix=J", date: Self.s3Date)
                == expected("host;x-amz-content-sha256;x-amz-date", "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
        )
        #expect(
            Self.authorization(Self.s3, "GET", "https://examplebucket.s3.amazonaws.com/?lifecycle", date: Self.s3Date)
                == expected("host;x-amz-content-sha256;x-amz-date", "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
        )
        let put = Self.authorization(
            Self.s3, "PUT", "https://examplebucket.s3.amazonaws.com/test%24file.text",
            [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")], payload: "Welcome to Amazon S3.", date: Self.s3Date
        )
        #expect(
            put == expected("date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class", "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        )
    }

    @Test func aSessionTokenIsSentAndSigned() throws {
        let credentials = AWSCredentials(accessKeyID: "AKID", secretAccessKey: "secret-value", sessionToken: "token-value")
        let signer = SigV4Signer(credentials: credentials, region: "eu-west-1", service: "sts")
        let headers = signer.signedHeaders(method: "POST", url: URL(string: "http://127.0.0.1:9000/")!, payloadHash: Self.empty, date: Self.suiteDate)
        #expect(headers.contains { $0.name == "x-amz-security-token" && $0.value == "token-value" })
        #expect(headers.contains { $0.name == "host" && $0.value == "127.0.0.1:9000" })
        let authorization = try #require(headers.first { $0.name == "authorization" }?.value)
        #expect(authorization.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,"))
        // A different secret signs differently; the secret itself appears nowhere.
        let other = SigV4Signer(credentials: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "other", sessionToken: "token-value"), region: "eu-west-1", service: "sts")
        #expect(other.signedHeaders(method: "POST", url: URL(string: "http://127.0.0.1:9000/")!, payloadHash: Self.empty, date: Self.suiteDate).last?.value != authorization)
        #expect(!headers.contains { $0.value.contains("secret-value") })
        #expect(!"\(credentials)".contains("secret-value") && !"\(credentials)".contains("token-value"))
    }

    @Test func credentialsComeFromTheStandardVariables() {
        #expect(AWSCredentials.fromEnvironment([:]) == nil)
        let found = AWSCredentials.fromEnvironment(["AWS_ACCESS_KEY_ID": "A", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": ""])
        #expect(found?.accessKeyID == "A" && found?.secretAccessKey == "S" && found?.sessionToken == nil)
    }
}
