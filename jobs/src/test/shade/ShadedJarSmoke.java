import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Child process of CheckShadedJar, compiled and run against the shaded jar plus the provided classpath: loads a
 * tokenizer.json with DJL (whose native library must come out of the shaded jar) and prints the ids of
 * "Once upon a time" without special tokens. For stories260K-hf the expected ids are [403, 407, 261, 378]
 * (stories260K-expected.json, tok512_encodings_no_bos, computed with llama2.c's tokenizer).
 */
public class ShadedJarSmoke {
    public static void main(String[] args) throws Exception {
        try (HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(Path.of(args[0]))) {
            Encoding e = t.encode("Once upon a time", false, false);
            System.out.println("ids=" + Arrays.toString(e.getIds()));
        }
    }
}
