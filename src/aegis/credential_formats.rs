//! Provider credential formats: each row names the literal keyword(s) that make a candidate (a
//! prefix such as `ghp_`, or a context word for formats without one), the regex that confirms it in
//! a window around the keyword (group 1 is the secret), and any extra check. Written from the
//! providers' documented token shapes.

use crate::detection::Severity;

/// Extra validation after the regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    None,
    /// GitHub / npm base62 CRC32 suffix: valid tokens are certain, invalid ones are likely fakes.
    Base62Crc,
    /// A JWT whose header decodes to JSON naming an algorithm.
    Jwt,
    /// PEM private key: extend the span to the END line.
    PemBlock,
    /// The captured value must look random (for context-keyed formats without a prefix).
    Random,
    /// The captured value must not be a placeholder.
    NotPlaceholder,
    /// The captured value must have the entropy of a generated key (documentation examples with
    /// `EXAMPLE` in them still count: they are shaped exactly like real keys).
    Entropy,
}

/// One provider format.
#[derive(Debug)]
pub struct Format {
    pub sub_type: &'static str,
    pub keywords: &'static [&'static str],
    pub regex: &'static str,
    /// Bytes before the keyword where the token may start.
    pub before: usize,
    /// Bytes after the keyword start searched.
    pub after: usize,
    pub severity: Severity,
    pub check: Check,
}

const fn f(
    sub_type: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    severity: Severity,
    check: Check,
) -> Format {
    Format {
        sub_type,
        keywords,
        regex,
        before: 0,
        after: 320,
        severity,
        check,
    }
}

/// A format whose keyword may sit inside the token or after a context word.
const fn ctx(
    sub_type: &'static str,
    keywords: &'static [&'static str],
    regex: &'static str,
    before: usize,
    severity: Severity,
    check: Check,
) -> Format {
    Format {
        sub_type,
        keywords,
        regex,
        before,
        after: 200,
        severity,
        check,
    }
}

use Check::*;
use Severity::{Critical, High, Medium};

pub static FORMATS: &[Format] = &[
    // Cloud providers
    f("aws_access_key", &["akia*", "asia*", "abia*", "acca*", "a3t*"], r"\b((?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})\b", High, None),
    ctx("aws_secret_key", &["*secret_access_key", "*secretaccesskey", "*secret access key", "aws_secret*", "*aws_secret_key"], r#"(?i)secret_?\s?(?:access_?\s?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#, 40, Critical, Entropy),
    ctx("aws_session_token", &["aws_session_token", "*sessiontoken"], r#"(?i)session_?token["']?\s*[:=]\s*["']?([A-Za-z0-9/+=]{100,})"#, 10, High, None),
    f("aws_mws_key", &["amzn.mws.*"], r"\b(amzn\.mws\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", High, None),
    f("google_api_key", &["aiza*"], r"\b(AIza[0-9A-Za-z_\-]{33,37})(?:[^0-9A-Za-z_\-]|$)", High, None),
    f("google_oauth_secret", &["gocspx-*"], r"\b(GOCSPX-[A-Za-z0-9_\-]{28})", High, None),
    f("google_oauth_token", &["ya29.*"], r"\b(ya29\.[A-Za-z0-9_\-]{30,})", High, None),
    f("google_refresh_token", &["*1//0*"], r"\b(1//0[A-Za-z0-9_\-]{40,})", High, None),
    f("firebase_fcm_key", &["aaaa*"], r"\b(AAAA[A-Za-z0-9_\-]{7}:[A-Za-z0-9_\-]{140})", High, None),
    f("azure_storage_key", &["accountkey=*"], r"(?i)AccountKey=([A-Za-z0-9+/]{86}==)", Critical, None),
    f("azure_shared_access_key", &["sharedaccesskey=*"], r"(?i)SharedAccessKey=([A-Za-z0-9+/]{42,44}=)", High, None),
    ctx("azure_ad_client_secret", &["*q~*"], r"(?:^|[^A-Za-z0-9_~.\-])([A-Za-z0-9_~.\-]{3}\dQ~[A-Za-z0-9_~.\-]{31,34})(?:[^A-Za-z0-9_~.\-]|$)", 8, High, None),
    ctx("azure_devops_pat", &["*azdo*"], r"\b([A-Za-z0-9]{76}AZDO[A-Za-z0-9]{4})\b", 80, High, None),
    ctx("azure_sas_token", &["*sig=*"], r"[?&]sig=([A-Za-z0-9%]{43,})", 2, Medium, None),
    f("alibaba_access_key", &["ltai*"], r"\b(LTAI[A-Za-z0-9]{12,20})\b", High, None),
    f("digitalocean_token", &["dop_v1_*", "doo_v1_*", "dor_v1_*"], r"\b(do[por]_v1_[a-f0-9]{64})\b", High, None),
    f("heroku_api_key", &["hrku-*"], r"\b(HRKU-[A-Za-z0-9_\-]{60})", High, None),
    ctx("heroku_api_key", &["heroku*"], r#"(?i)heroku[a-z_\-]*(?:api)?[_\-]?(?:key|token)["']?\s*[:=]?\s*["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"#, 0, Medium, None),
    f("ibm_cloud_key", &["ibm*"], r#"(?i)ibm[a-z_]*(?:api)?_?key["']?\s*[:=]\s*["']?([A-Za-z0-9_\-]{40,44})"#, High, None),
    f("cloudflare_origin_ca_key", &["v1.0-*"], r"\b(v1\.0-[a-f0-9]{24}-[a-f0-9]{146})\b", High, None),
    f("databricks_token", &["dapi*"], r"\b(dapi[a-f0-9]{32}(?:-\d)?)\b", High, None),
    f("fly_io_token", &["fo1_*", "flyv1*"], r"\b(fo1_[A-Za-z0-9_\-]{43}|FlyV1 fm2_[A-Za-z0-9+/=_,\-]{50,})", High, None),
    f("render_api_key", &["rnd_*"], r"\b(rnd_[A-Za-z0-9]{32})\b", High, None),
    f("netlify_token", &["nfp_*"], r"\b(nfp_[A-Za-z0-9]{36})\b", High, None),
    f("vercel_token", &["vercel_*", "vcp_*"], r"\b((?:vercel|vcp)_[A-Za-z0-9]{24,})\b", Medium, None),
    f("supabase_token", &["sbp_*", "sb_secret_*"], r"\b(sbp_[A-Za-z0-9]{40}|sb_secret_[A-Za-z0-9_\-]{30,})", High, None),
    f("planetscale_token", &["pscale_*"], r"\b(pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_\-.=]{32,64})", High, None),
    ctx("terraform_cloud_token", &["*.atlasv1.*"], r"\b([A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_\-=]{60,70})", 16, High, None),
    f("vault_token", &["hvs.*", "hvb.*", "hvr.*"], r"\b(hv[sbr]\.[A-Za-z0-9_\-]{24,})", High, None),
    f("doppler_token", &["dp.pt.*", "dp.st.*", "dp.sa.*", "dp.ct.*", "dp.scim.*", "dp.audit.*"], r"\b(dp\.(?:pt|st|sa|ct|scim|audit)(?:\.[a-z0-9_\-]{2,35})?\.[A-Za-z0-9]{40,44})", High, None),
    f("pulumi_token", &["pul-*"], r"\b(pul-[a-f0-9]{40})\b", High, None),
    f("tailscale_key", &["tskey-*"], r"\b(tskey-[a-z]*-?[A-Za-z0-9]{8,}-[A-Za-z0-9]{16,})", High, None),
    f("ngrok_token", &["ngrok*"], r#"(?i)ngrok[a-z_]*(?:token|key)["']?\s*[:=]?\s*["']?([A-Za-z0-9_]{40,})"#, High, None),
    f("scalingo_token", &["tk-us-*"], r"\b(tk-us-[A-Za-z0-9_\-]{48})", High, None),
    // Source hosts, CI and package registries
    f("github_token", &["ghp_*", "gho_*", "ghu_*", "ghs_*", "ghr_*"], r"\b(gh[pousr]_[A-Za-z0-9]{36,251})\b", High, Base62Crc),
    f("github_fine_grained_pat", &["github_pat_*"], r"\b(github_pat_[A-Za-z0-9_]{30,255})", High, None),
    f("gitlab_token", &["glpat-*", "gldt-*", "glrt-*", "glptt-*", "glsoat-*", "glcbt-*", "gloas-*", "glimt-*", "glagent-*", "glffct-*", "glft-*"], r"\b(gl(?:pat|dt|rt|ptt|soat|cbt|oas|imt|agent|ffct|ft)-[A-Za-z0-9_\-]{20,64})", High, None),
    f("gitlab_runner_token", &["gr1348941*"], r"\b(GR1348941[A-Za-z0-9_\-]{20})", High, None),
    f("bitbucket_token", &["atbb*"], r"\b(ATBB[A-Za-z0-9_\-=.]{32,})", High, None),
    f("atlassian_token", &["atatt3*", "atctt3*"], r"\b(AT[AC]TT3[A-Za-z0-9_\-=]{100,})", High, None),
    f("npm_token", &["npm_*"], r"\b(npm_[A-Za-z0-9]{36})\b", High, Base62Crc),
    ctx("npm_legacy_token", &["*_authtoken", "npm_token*", "*npm_token"], r#"(?i)(?:_authtoken|npm_token)["']?\s*[:=]\s*["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"#, 0, High, None),
    f("pypi_token", &["pypi-*"], r"\b(pypi-AgE[A-Za-z0-9_\-]{50,})", High, None),
    f("rubygems_token", &["rubygems_*"], r"\b(rubygems_[a-f0-9]{48})\b", High, None),
    f("nuget_key", &["oy2*"], r"\b(oy2[a-z0-9]{43})\b", High, None),
    f("docker_hub_token", &["dckr_*"], r"\b(dckr_(?:pat|oat)_[A-Za-z0-9_\-]{27,})", High, None),
    f("crates_io_token", &["cio*"], r"\b(cio[a-zA-Z0-9]{32})\b", Medium, None),
    f("clojars_token", &["clojars_*"], r"\b(CLOJARS_[a-z0-9]{60})\b", High, None),
    f("jfrog_token", &["akcp*", "cmvmdgtu*"], r"\b(AKCp[A-Za-z0-9]{69}|cmVmdGtu[A-Za-z0-9]{56,})\b", High, None),
    f("buildkite_token", &["bkua_*"], r"\b(bkua_[A-Za-z0-9]{40})\b", High, None),
    f("circleci_token", &["ccipat_*"], r"\b(CCIPAT_[A-Za-z0-9_]{40,})\b", High, None),
    f("pubnub_key", &["pub-c-*", "sub-c-*", "sec-c-*"], r"\b((?:pub|sub|sec)-c-[0-9a-zA-Z\-]{20,})", Medium, None),
    f("sonarqube_token", &["sqp_*", "squ_*", "sqa_*"], r"\b(sq[pua]_[a-f0-9]{40})\b", High, None),
    f("octopus_deploy_key", &["api-*"], r"\b(API-[A-Z0-9]{26})\b", Medium, None),
    f("harness_token", &["pat.*", "sat.*"], r"\b((?:pat|sat)\.[A-Za-z0-9_\-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20})\b", High, None),
    f("postman_key", &["pmak-*"], r"\b(PMAK-[a-f0-9]{24}-[a-f0-9]{34})\b", High, None),
    f("prefect_key", &["pnu_*"], r"\b(pnu_[A-Za-z0-9]{36})\b", High, None),
    f("readme_key", &["rdme_*"], r"\b(rdme_[a-z0-9]{70})\b", High, None),
    f("contentful_token", &["cfpat-*"], r"\b(CFPAT-[A-Za-z0-9_\-]{43})", High, None),
    f("dynatrace_token", &["dt0c01.*"], r"\b(dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64})\b", High, None),
    f("grafana_token", &["glc_*", "glsa_*"], r"\b(glc_[A-Za-z0-9+/]{32,400}={0,2}|glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})", High, None),
    f("new_relic_key", &["nrak-*", "nrii-*", "nrjs-*", "nraa-*"], r"\b(NR(?:AK|II|JS|AA)-[A-Za-z0-9]{20,42})\b", High, None),
    f("sentry_token", &["sntrys_*", "sntryu_*"], r"\b(sntry[su]_[A-Za-z0-9+/=_]{40,})", High, None),
    ctx("datadog_key", &["datadog*", "dd_api_key", "dd_app_key", "dd-api-key", "dd-application-key"], r#"(?i)(?:datadog|dd)[a-z_\-]*(?:api|app|application)?[_\-]?key["']?\s*[:=]?\s*["']?([a-f0-9]{32}|[a-f0-9]{40})\b"#, 0, High, None),
    ctx("okta_token", &["okta*"], r"\b(00[A-Za-z0-9_\-]{40})\b", 0, High, None),
    f("age_secret_key", &["age-secret-key-1*"], r"\b(AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})\b", Critical, None),
    f("onepassword_token", &["ops_eyj*"], r"\b(ops_eyJ[A-Za-z0-9+/=_\-]{100,})", Critical, None),
    f("onepassword_secret_key", &["a3-*"], r"\b(A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})\b", Critical, None),
    // Payments
    f("stripe_live_key", &["sk_live_*", "rk_live_*"], r"\b((?:sk|rk)_live_[A-Za-z0-9]{10,247})\b", Critical, None),
    f("stripe_test_key", &["sk_test_*", "rk_test_*"], r"\b((?:sk|rk)_test_[A-Za-z0-9]{10,247})\b", Medium, None),
    f("stripe_webhook_secret", &["whsec_*"], r"\b(whsec_[A-Za-z0-9]{24,})", High, None),
    f("square_token", &["sq0atp-*", "sq0csp-*", "eaaa*"], r"\b(sq0(?:atp|csp)-[0-9A-Za-z_\-]{22,43}|EAAA[A-Za-z0-9_\-]{60})", High, None),
    f("braintree_token", &["access_token$*"], r"(access_token\$(?:production|sandbox)\$[0-9a-z]{16}\$[0-9a-f]{32})", High, None),
    f("paypal_secret", &["paypal*"], r#"(?i)paypal[a-z_\-]*(?:secret|client_?id)["']?\s*[:=]\s*["']?([A-Za-z0-9_\-]{40,90})"#, High, None),
    f("adyen_key", &["aqe*"], r"\b(AQE[A-Za-z0-9+/=_\-]{80,})", High, None),
    f("checkout_key", &["sk_sbox_*"], r"\b(sk_sbox_[a-z0-9]{26})", Medium, None),
    f("razorpay_key", &["rzp_live_*", "rzp_test_*"], r"\b(rzp_(?:live|test)_[A-Za-z0-9]{14})\b", High, None),
    f("flutterwave_key", &["flwseck*"], r"\b(FLWSECK(?:_TEST)?-[a-h0-9]{32}-X)", High, None),
    f("pagarme_key", &["ak_live_*", "ak_test_*"], r"\b(ak_(?:live|test)_[A-Za-z0-9]{20,})", High, None),
    f("sourcegraph_token", &["slk_*", "sgp_*"], r"\b((?:slk|sgp)_[a-f0-9]{40,64})\b", High, None),
    f("live_api_key", &["live_*"], r"\b(live_[A-Za-z0-9_=\-]{30,48})(?:[^A-Za-z0-9_=\-]|$)", High, NotPlaceholder),
    f("plaid_token", &["access-sandbox-*", "access-development-*", "access-production-*"], r"\b(access-(?:sandbox|development|production)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", High, None),
    f("shopify_token", &["shpat_*", "shpca_*", "shppa_*", "shpss_*"], r"\b(shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b", High, None),
    f("coinbase_key", &["coinbase*"], r#"(?i)coinbase[a-z_\-]*(?:secret|key)["']?\s*[:=]\s*["']?([A-Za-z0-9+/=_\-]{32,90})"#, High, Random),
    // Messaging and e-mail
    f("slack_token", &["xox*", "xapp-*"], r"\b(xox[abprseo]-[A-Za-z0-9\-]{10,250}|xoxe\.xox[bp]-\d-[A-Za-z0-9]{100,}|xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+)", High, NotPlaceholder),
    f("slack_webhook", &["hooks.slack.com/*"], r"(https?://hooks\.slack\.com/(?:services|workflows|triggers)/T[A-Za-z0-9]{6,}/[A-Za-z0-9]{6,}/[A-Za-z0-9]{20,})", High, None),
    f("discord_webhook", &["discord.com/api/webhooks/*", "discordapp.com/api/webhooks/*"], r"(https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d+/[A-Za-z0-9_\-]{60,})", High, None),
    ctx("discord_bot_token", &["discord*", "bot_token", "*bot token"], r"\b([MNO][A-Za-z0-9_\-]{23,25}\.[A-Za-z0-9_\-]{6}\.[A-Za-z0-9_\-]{27,38})", 0, High, None),
    ctx("telegram_bot_token", &["*:aa*"], r"\b(\d{8,10}:AA[A-Za-z0-9_\-]{33})\b", 12, High, None),
    ctx("telegram_bot_token", &["telegram*"], r"\b(\d{8,10}:[A-Za-z0-9_\-]{35})\b", 0, High, None),
    f("teams_webhook", &["webhook.office.com*", "outlook.office.com/webhook*"], r"(https://[A-Za-z0-9\-]+\.webhook\.office\.com/webhookb2/[A-Za-z0-9\-@/]{40,}|https://outlook\.office\.com/webhook/[A-Za-z0-9\-@/]{40,})", Medium, None),
    ctx("twilio_key", &["twilio*"], r"\b(SK[0-9a-fA-F]{32})\b", 0, High, None),
    ctx("twilio_auth_token", &["twilio*"], r#"(?i)twilio[a-z_\-]*(?:auth|token|secret)[a-z_\-]*["']?\s*[:=]\s*["']?([a-f0-9]{32})\b"#, 0, High, None),
    f("sendgrid_key", &["sg.*"], r"\b(SG\.[A-Za-z0-9_\-]{16,32}\.[A-Za-z0-9_\-]{20,64})", High, None),
    f("mailgun_key", &["key-*"], r"\b(key-[0-9a-f]{32})\b", High, None),
    ctx("mailchimp_key", &["*-us*"], r"\b([0-9a-f]{32}-us\d{1,2})\b", 34, High, None),
    f("sendinblue_key", &["xkeysib-*", "xsmtpsib-*"], r"\b(x(?:keysib|smtpsib)-[a-f0-9]{64}-[A-Za-z0-9]{16})\b", High, None),
    f("mailersend_token", &["mlsn.*"], r"\b(mlsn\.[a-f0-9]{64})\b", High, None),
    f("resend_key", &["re_*"], r"\b(re_[A-Za-z0-9]{8}_[A-Za-z0-9]{24})\b", High, None),
    f("postmark_token", &["postmark*"], r#"(?i)postmark[a-z_\-]*["']?\s*[:=]\s*["']?([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"#, High, None),
    f("okta_token", &["ssws"], r"(?i)SSWS\s+(00[A-Za-z0-9_\-]{40})", High, None),
    f("teamwork_token", &["tkn.v1_*"], r"\b(tkn\.v1_[A-Za-z0-9+/=_\-]{40,})", High, None),
    f("dependency_track_key", &["odt_*"], r"\b(odt_[A-Za-z0-9]{32,})", Medium, None),
    f("psexec_password", &["psexec*"], r"(?i)psexec[^\n]{0,160}?\s-p\s+([^\s\\]+)", Medium, NotPlaceholder),
    f("network_credential", &["networkcredential*"], r#"NetworkCredential\(\s*"[^"]*"\s*,\s*"([^"]{4,})""#, Medium, NotPlaceholder),
    f("linear_key", &["lin_api_*"], r"\b(lin_api_[A-Za-z0-9]{40})\b", High, None),
    f("notion_token", &["secret_*", "ntn_*"], r"\b(secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{40,50})\b", High, None),
    f("figma_token", &["figd_*"], r"\b(figd_[A-Za-z0-9_\-]{40})", High, None),
    f("hubspot_token", &["pat-na*", "pat-eu*"], r"\b(pat-(?:na|eu)\d-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b", High, None),
    f("typeform_token", &["tfp_*"], r"\b(tfp_[A-Za-z0-9_\-.=]{40,64})", High, None),
    f("shippo_token", &["shippo_*"], r"\b(shippo_(?:live|test)_[A-Za-z0-9]{40})\b", High, None),
    f("easypost_key", &["ezak*", "eztk*"], r"\b(EZ[AT]K[A-Za-z0-9]{54})\b", High, None),
    f("frameio_token", &["fio-u-*"], r"\b(fio-u-[A-Za-z0-9_\-=]{64})", High, None),
    f("adafruit_key", &["aio_*"], r"\b(aio_[A-Za-z0-9]{28})\b", High, None),
    f("mapbox_secret_token", &["sk.eyj*"], r"\b(sk\.eyJ[A-Za-z0-9_\-]{50,}\.[A-Za-z0-9_\-]{20,})", High, None),
    f("twitter_bearer", &["aaaaaaaaaaaaaaaaaaaaa*"], r"\b(A{22}[A-Za-z0-9%]{80,})", High, None),
    f("facebook_token", &["eaa*"], r"\b(EAA[A-Za-z0-9]{90,})", High, None),
    f("dropbox_token", &["sl.*"], r"\b(sl\.[A-Za-z0-9_\-]{130,})", High, None),
    f("salesforce_token", &["00d*"], r"\b(00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]{80,})", High, None),
    f("yandex_key", &["aqvn*", "y0_*", "y1_*", "y2_*", "y3_*"], r"\b(AQVN[A-Za-z0-9_\-]{35,38}|y[0-3]_[A-Za-z0-9_\-]{55})", High, None),
    // AI providers
    f("openai_key", &["sk-proj-*", "sk-svcacct-*", "sk-admin-*", "sk-none-*", "*t3blbkfj*"], r"\b(sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,200}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})", Critical, None),
    f("anthropic_key", &["sk-ant-*"], r"\b(sk-ant-[A-Za-z0-9_\-]{20,200})", Critical, None),
    f("sk_api_key", &["sk-*"], r"\b(sk-[A-Za-z0-9]{32,64})\b", High, Random),
    f("huggingface_token", &["hf_*", "api_org_*"], r"\b((?:hf|api_org)_[A-Za-z]{34})\b", High, None),
    f("replicate_token", &["r8_*"], r"\b(r8_[A-Za-z0-9]{37})\b", High, None),
    f("groq_key", &["gsk_*"], r"\b(gsk_[A-Za-z0-9]{48,52})\b", High, None),
    f("perplexity_key", &["pplx-*"], r"\b(pplx-[A-Za-z0-9]{48})\b", High, None),
    f("xai_key", &["xai-*"], r"\b(xai-[A-Za-z0-9_]{70,100})\b", High, None),
    f("fireworks_key", &["fw_*"], r"\b(fw_[A-Za-z0-9]{24,})\b", High, None),
    f("langsmith_key", &["lsv2_*"], r"\b(lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10})\b", High, None),
    f("pinecone_key", &["pcsk_*"], r"\b(pcsk_[A-Za-z0-9_]{50,80})", High, None),
    // Keys, tokens and connection strings in generic shapes
    ctx("private_key", &["*-----begin*"], r"(-----BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?-----)", 0, Critical, PemBlock),
    f("putty_private_key", &["putty-user-key-file-*"], r"(PuTTY-User-Key-File-\d: [^\r\n]+)", Critical, None),
    f("jwt", &["eyj*"], r"\b(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]{0,1000})?)", High, Jwt),
    f("password_hash", &["*$2a$*", "*$2b$*", "*$2y$*", "*$argon2*", "*$6$*", "*$5$*", "*$apr1$*", "*$y$*", "*$krb5*", "*$8$*", "*$9$*", "*$7$*", "*$1$*"], r"(\$(?:2[aby]\$\d\d|6|5|1|7|8|9|apr1|y|argon2(?:id|i|d)|krb5[a-z]+)\$[A-Za-z0-9./+=$,:*]{20,})", Medium, None),
    ctx("basic_auth", &["authorization: basic", "authorization:basic", "*basic auth"], r"(?i)basic\s+([A-Za-z0-9+/]{12,}={0,2})", 0, High, NotPlaceholder),
];
