// CloudFront Functions (cloudfront-js-2.0), viewer request of the web client's distribution.
//
// CloudFront's default *.cloudfront.net certificate ignores the distribution's minimum protocol,
// so without a domain of its own the distribution would still finish a TLS 1.0 or 1.1 handshake.
// This function refuses such requests before they reach the cache or the bucket. CloudFront sets
// the CloudFront-Viewer-TLS header ("TLSv1.2:ECDHE-RSA-AES128-GCM-SHA256") because the behaviour's
// origin request policy names it (infra/web.py). A plain-HTTP request carries no such header: it
// passes here, and the behaviour's redirect-to-https answers it.
function handler(event) {
    var request = event.request;
    var tls = request.headers['cloudfront-viewer-tls'];
    if (!tls) {
        return request;
    }
    var version = tls.value.split(':')[0];
    if (version === 'TLSv1.2' || version === 'TLSv1.3') {
        return request;
    }
    return {
        statusCode: 403,
        statusDescription: 'TLS 1.2 or later required',
        headers: { 'cache-control': { value: 'no-store' } }
    };
}
