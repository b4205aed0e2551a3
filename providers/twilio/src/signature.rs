//! The string Twilio signs, and the URL forms a signature may have been computed over.

/// The public URL followed by each POST parameter's name and value, sorted by name and then
/// value, concatenated without separators.
pub fn signed_payload(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut payload = url.to_string();
    for (name, value) in sorted {
        payload.push_str(name);
        payload.push_str(value);
    }
    payload
}

/// The URL as received, and the same URL with its default port written out (or left out),
/// since Twilio may sign either form.
pub fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let default_port = match scheme {
        "https" => "443",
        "http" => "80",
        _ => return variants,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let alternative = match authority.rsplit_once(':') {
        Some((host, port)) if port == default_port => host.to_string(),
        Some(_) => return variants,
        None => format!("{authority}:{default_port}"),
    };
    variants.push(format!("{scheme}://{alternative}{tail}"));
    variants
}
