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
            double d = Double.longBitsToDouble(Long.parseUnsignedLong(p.get("bits").asText()));
            assertEquals(p.get("repr").asText(), PythonJson.repr(d), "repr of " + d);
        }
    }

    @Test
    void dumpsMatchesPackDictToTensor() {
        // bytes of pack_dict_to_tensor for the up_proj quant state, as the reference wrote them
        JsonNode t = QuantFixture.load().get("layout").get("variants").get(0).get("tensors")
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
}
