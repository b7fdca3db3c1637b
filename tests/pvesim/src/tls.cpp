#include "tls.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <fstream>
#include <memory>
#include <sstream>

#include <fmt/format.h>

namespace pvesim {

namespace {

struct X509Free {
    void operator()(X509* p) const { X509_free(p); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct PkeyCtxFree {
    void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); }
};
struct BioFree {
    void operator()(BIO* p) const { BIO_free(p); }
};
struct ExtFree {
    void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string fingerprint_of(X509* cert) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    X509_digest(cert, EVP_sha256(), digest, &length);
    std::string out;
    for (unsigned int i = 0; i < length; ++i) out += fmt::format("{}{:02X}", i ? ":" : "", digest[i]);
    return out;
}

X509Ptr load_cert(const std::string& pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PkeyPtr load_key(const std::string& pem) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    return PkeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, ExtFree> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

std::string to_pem(X509* cert) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

std::string to_pem(EVP_PKEY* key) {
    std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
    PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long length = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(length));
}

bool generate(const std::string& common_name, std::string& cert_pem, std::string& key_pem, std::string& error) {
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> kctx(EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr));
    EVP_PKEY* raw_key = nullptr;
    if (!kctx || EVP_PKEY_keygen_init(kctx.get()) != 1 ||
        EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx.get(), NID_X9_62_prime256v1) != 1 ||
        EVP_PKEY_keygen(kctx.get(), &raw_key) != 1) {
        error = "cannot generate an EC key";
        return false;
    }
    PkeyPtr key(raw_key);
    X509Ptr cert(X509_new());
    X509_set_version(cert.get(), 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof serial);
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
    X509_set_pubkey(cert.get(), key.get());
    X509_NAME* name = X509_get_subject_name(cert.get());
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("pve-sim"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1, 0);
    X509_set_issuer_name(cert.get(), name);
    if (!add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost") ||
        !add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE") ||
        !add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign") ||
        !add_extension(cert.get(), NID_ext_key_usage, "serverAuth") ||
        !add_extension(cert.get(), NID_subject_key_identifier, "hash")) {
        error = "cannot add certificate extensions";
        return false;
    }
    if (X509_sign(cert.get(), key.get(), EVP_sha256()) == 0) {
        error = "cannot sign the certificate";
        return false;
    }
    cert_pem = to_pem(cert.get());
    key_pem = to_pem(key.get());
    return true;
}

}  // namespace

bool write_file_atomically(const std::filesystem::path& path, const std::string& content, unsigned mode,
                           std::string& error) {
    auto temp = path;
    temp += fmt::format(".tmp{}", ::getpid());
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        error = fmt::format("cannot write {}", temp.string());
        return false;
    }
    std::size_t written = 0;
    while (written < content.size()) {
        auto n = ::write(fd, content.data() + written, content.size() - written);
        if (n <= 0) {
            ::close(fd);
            error = fmt::format("cannot write {}", temp.string());
            return false;
        }
        written += static_cast<std::size_t>(n);
    }
    ::fsync(fd);
    ::close(fd);
    if (::rename(temp.c_str(), path.c_str()) != 0) {
        error = fmt::format("cannot rename {} to {}", temp.string(), path.string());
        return false;
    }
    return true;
}

std::optional<std::string> pem_fingerprint(const std::filesystem::path& pem, std::string& error) {
    auto cert = load_cert(read_all(pem));
    if (!cert) {
        error = fmt::format("{}: no certificate", pem.string());
        return std::nullopt;
    }
    return fingerprint_of(cert.get());
}

std::optional<CertificateFiles> ensure_certificate(const std::filesystem::path& dir, const std::string& name,
                                                   const std::string& common_name, std::string& error) {
    CertificateFiles files{dir / (name + ".crt"), dir / (name + ".key"), dir / (name + ".fingerprint"), ""};
    X509Ptr cert;
    if (std::filesystem::exists(files.certificate) && std::filesystem::exists(files.key)) {
        cert = load_cert(read_all(files.certificate));
        auto key = load_key(read_all(files.key));
        if (!cert || !key || X509_check_private_key(cert.get(), key.get()) != 1 ||
            X509_cmp_current_time(X509_get0_notAfter(cert.get())) <= 0) {
            cert.reset();
        }
    }
    if (!cert) {
        std::string cert_pem, key_pem;
        if (!generate(common_name, cert_pem, key_pem, error)) return std::nullopt;
        if (!write_file_atomically(files.key, key_pem, 0600, error)) return std::nullopt;
        if (!write_file_atomically(files.certificate, cert_pem, 0644, error)) return std::nullopt;
        cert = load_cert(cert_pem);
    }
    files.fingerprint = fingerprint_of(cert.get());
    if (!write_file_atomically(files.fingerprint_file, files.fingerprint + "\n", 0644, error)) return std::nullopt;
    return files;
}

std::optional<std::string> ensure_ticket_key(const std::filesystem::path& file, std::string& error) {
    if (std::filesystem::exists(file)) {
        auto key = read_all(file);
        if (key.size() >= 32) return key;
    }
    unsigned char bytes[32];
    if (RAND_bytes(bytes, sizeof bytes) != 1) {
        error = "no randomness for the ticket key";
        return std::nullopt;
    }
    std::string key(44 + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(key.data()), bytes, sizeof bytes);
    key.resize(static_cast<std::size_t>(n));
    if (!write_file_atomically(file, key, 0600, error)) return std::nullopt;
    return key;
}

}  // namespace pvesim
