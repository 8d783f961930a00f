package io.lakelora.text;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PiiScrubberTest {
    private final PiiScrubber s = PiiScrubber.defaults();

    private static Map<String, Integer> counts(int email, int card, int ipv6, int ipv4, int phone) {
        return Map.of("email", email, "card", card, "ipv6", ipv6, "ipv4", ipv4, "phone", phone);
    }

    @Test
    void everyKindIsReplacedAndCounted() {
        PiiScrubber.Result r = s.scrub("Mail jane.doe+x@mail.example.co.uk or call +1 415-555-0132, card 4111 1111 "
                + "1111 1111, host 192.168.10.254 / 2001:db8::8a2e:370:7334 / ::1.");
        assertEquals("Mail [EMAIL] or call [PHONE], card [CARD], host [IPV4] / [IPV6] / [IPV6].", r.text());
        assertEquals(counts(1, 1, 2, 1, 1), r.counts());
        assertEquals(6, r.total());
    }

    @Test
    void luhnOnPublishedTestNumbers() {
        // test card numbers published by the card networks (Visa, Mastercard, Amex), all Luhn-valid
        assertTrue(PiiScrubber.luhn("4111111111111111"));
        assertTrue(PiiScrubber.luhn("5500000000000004"));
        assertTrue(PiiScrubber.luhn("378282246310005"));
        assertFalse(PiiScrubber.luhn("4111111111111112"));
        assertEquals(
                "order 4111-1111-1111-1112 shipped",
                s.scrub("order 4111-1111-1111-1112 shipped").text());
        assertEquals("amex [CARD]", s.scrub("amex 378282246310005").text());
    }

    @Test
    void lookalikesAreLeftAlone() {
        String text = "At 12:30:45 on 2024-01-31 version 1.2.3 scored 3.14; 256.1.1.1 is no address; std::vector; "
                + "call 555-0132 later; a::b";
        PiiScrubber.Result r = s.scrub(text);
        assertEquals(text, r.text());
        assertEquals(counts(0, 0, 0, 0, 0), r.counts());
    }

    @Test
    void phoneFormats() {
        assertEquals(
                "[PHONE] and [PHONE] and [PHONE]",
                s.scrub("(415) 555-0132 and +44 20 7946 0958 and 415.555.0132").text());
    }

    @Test
    void ipv6Validation() {
        assertTrue(PiiScrubber.isIpv6("2001:0db8:85a3:0000:0000:8a2e:0370:7334"));
        assertTrue(PiiScrubber.isIpv6("::ffff:192.0.2.128"));
        assertTrue(PiiScrubber.isIpv6("fe80::1"));
        assertFalse(PiiScrubber.isIpv6("1:2:3"));
        assertFalse(PiiScrubber.isIpv6("1::2::3"));
        assertFalse(PiiScrubber.isIpv6("12345::1"));
    }

    @Test
    void kindsCanBeChosen() {
        PiiScrubber.Options o = new PiiScrubber.Options();
        o.kinds = List.of("email");
        PiiScrubber only = new PiiScrubber(o);
        PiiScrubber.Result r = only.scrub("a@b.io 10.0.0.1");
        assertEquals("[EMAIL] 10.0.0.1", r.text());
        assertEquals(Map.of("email", 1), r.counts());
        o.kinds = List.of("emails");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new PiiScrubber(o));
        assertTrue(e.getMessage().contains("pii.kinds") && e.getMessage().contains("emails"), e.getMessage());
    }
}
