package io.lakelora.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link PythonJson} against strings CPython itself produced (repr() and json.dumps, in quant_reference.py). */
class PythonJsonTest {

    @Test
    void reprMatchesCPython() {
        JsonNode probes = QuantFixture.load().get("python_repr");
        assertTrue(probes.size() > 70);
        for (JsonNode p : probes) {
            double d =
                    Double.longBitsToDouble(Long.parseUnsignedLong(p.get("bits").asText()));
            assertEquals(p.get("repr").asText(), PythonJson.repr(d), "repr of " + d);
        }
    }

    @Test
    void dumpsMatchesPackDictToTensor() {
        // bytes of pack_dict_to_tensor for the up_proj quant state, as the reference wrote them
        JsonNode t = QuantFixture.load()
                .get("layout")
                .get("variants")
                .get(0)
                .get("tensors")
                .get("model.layers.0.mlp.up_proj.weight.quant_state.bitsandbytes__nf4");
        String python = new String(QuantFixture.bytes(t.get("data")), StandardCharsets.UTF_8);
        Map<String, Object> state = new LinkedHashMap<>();
        state.put("quant_type", "nf4");
        state.put("blocksize", 64);
        state.put("dtype", "float32");
        state.put("shape", List.of(9, 7));
        state.put("nested_blocksize", 256);
        state.put("nested_dtype", "float32");
        String offset = python.substring(python.lastIndexOf(": ") + 2, python.length() - 1);
        state.put("nested_offset", Double.parseDouble(offset));
        assertEquals(python, PythonJson.dumps(state));
    }

    @Test
    void escapesLikePython() {
        // json.dumps({'a"b': [1, 2.5, 'é\n'], 'n': None, 't': True}) in CPython
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a\"b", List.of(1, 2.5, "\u00e9\n"));
        m.put("n", null);
        m.put("t", true);
        assertEquals("{\"a\\\"b\": [1, 2.5, \"\\u00e9\\n\"], \"n\": null, \"t\": true}", PythonJson.dumps(m));
    }

    @Test
    void indentsLikeJsonDump() {
        // o = {'a': [1, 2.5e-05, {}], 'b': {'x': None, 'y': []}, 'c': 'é▁\x7f\n', 'd': True,
        //      'e': [[1], {'k': 10000.0}]}; json.dumps(o, indent=1, ensure_ascii=False) and json.dumps(o, indent=2)
        Map<String, Object> o = new LinkedHashMap<>();
        o.put("a", List.of(1, 2.5e-05, Map.of()));
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("x", null);
        b.put("y", List.of());
        o.put("b", b);
        o.put("c", "\u00e9\u2581\u007f\n");
        o.put("d", true);
        o.put("e", List.of(List.of(1), Map.of("k", 10000.0)));
        assertEquals(
                "{\n \"a\": [\n  1,\n  2.5e-05,\n  {}\n ],\n \"b\": {\n  \"x\": null,\n  \"y\": []\n },\n"
                        + " \"c\": \"\u00e9\u2581\u007f\\n\",\n \"d\": true,\n \"e\": [\n  [\n   1\n  ],\n  {\n   \"k\": "
                        + "10000.0\n  }\n ]\n}",
                PythonJson.dumps(o, 1, false));
        assertEquals(
                "{\n  \"a\": [\n    1,\n    2.5e-05,\n    {}\n  ],\n  \"b\": {\n    \"x\": null,\n    "
                        + "\"y\": []\n  },\n  \"c\": \"\\u00e9\\u2581\\u007f\\n\",\n  \"d\": true,\n  \"e\": [\n    [\n      "
                        + "1\n    ],\n    {\n      \"k\": 10000.0\n    }\n  ]\n}",
                PythonJson.dumps(o, 2, true));
        // the same through a Jackson tree
        assertEquals(
                PythonJson.dumps(o, 2, true),
                PythonJson.dumps(new com.fasterxml.jackson.databind.ObjectMapper().valueToTree(o), 2, true));
    }
}
