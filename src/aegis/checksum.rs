//! Check digits that tell a real identifier from a look-alike: Luhn (payment cards), ISO 13616
//! mod-97 (IBAN, with each country's length) and the CRC32 that GitHub and npm append to their
//! tokens in base62.

/// Luhn check over the digits of `s` (other characters ignored); needs at least 2 digits.
pub fn luhn(s: &str) -> bool {
    let mut sum = 0u32;
    let mut count = 0;
    for (i, d) in s.bytes().rev().filter(u8::is_ascii_digit).enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
        count += 1;
    }
    count >= 2 && sum.is_multiple_of(10)
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BI", 27),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DJ", 27),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FK", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("LY", 25),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MN", 20),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NI", 28),
    ("NL", 18),
    ("NO", 15),
    ("OM", 23),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("RU", 33),
    ("SA", 24),
    ("SC", 31),
    ("SD", 18),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("SO", 23),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
    ("YE", 30),
];

/// Whether `s` (spaces allowed, any case) is a valid IBAN: known country, right length, mod-97 = 1.
pub fn iban(s: &str) -> bool {
    let compact: Vec<u8> = s
        .bytes()
        .filter(|b| *b != b' ')
        .map(|b| b.to_ascii_uppercase())
        .collect();
    let Some(country) = compact.get(..2).and_then(|c| std::str::from_utf8(c).ok()) else {
        return false;
    };
    let expected = IBAN_LENGTHS
        .iter()
        .find(|(code, _)| *code == country)
        .map(|(_, len)| *len);
    if expected != Some(compact.len()) || !compact.iter().all(u8::is_ascii_alphanumeric) {
        return false;
    }
    let rotated = compact.iter().skip(4).chain(compact.iter().take(4));
    let mut rem = 0u32;
    for &b in rotated {
        let v = if b.is_ascii_digit() {
            u32::from(b - b'0')
        } else {
            u32::from(b - b'A') + 10
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `value` in base62, left-padded with `0` to `width` digits.
pub fn base62(mut value: u32, width: usize) -> String {
    let mut digits = Vec::new();
    while value > 0 {
        digits.push(BASE62[(value % 62) as usize]);
        value /= 62;
    }
    while digits.len() < width {
        digits.push(b'0');
    }
    digits.reverse();
    String::from_utf8(digits).unwrap_or_default()
}

/// GitHub / npm token checksum: the last 6 characters are the base62 CRC32 of the 30 random
/// characters before them (after the `xxx_` prefix).
pub fn base62_crc_token(token: &str) -> bool {
    let Some((_, body)) = token.rsplit_once('_') else {
        return false;
    };
    if body.len() != 36 || !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62(crc32(random.as_bytes()), 6) == check
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_accepts_valid_and_rejects_one_digit_off() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("3782-822463-10005"));
        assert!(!luhn("4111 1111 1111 1112"));
        assert!(!luhn("0"));
    }

    #[test]
    fn iban_mod97_and_country_length() {
        assert!(iban("GB82 WEST 1234 5698 7654 32"));
        assert!(iban("de89370400440532013000"));
        assert!(!iban("GB82 WEST 1234 5698 7654 33"));
        // Right checksum shape but wrong length for the country.
        assert!(!iban("DE8937040044053201300"));
        assert!(!iban("XX82WEST12345698765432"));
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn github_token_checksum_round_trip() {
        let random = "Zx9pQ2rT7vW1yB4nM6kL8jH3gF5dS0";
        let token = format!("ghp_{random}{}", base62(crc32(random.as_bytes()), 6));
        assert!(base62_crc_token(&token));
        let mut tampered = token.clone();
        tampered.replace_range(5..6, "y");
        assert!(!base62_crc_token(&tampered));
        assert!(!base62_crc_token("ghp_short"));
    }
}
