// Cross-entropy over a chunk of logits, as model.nn.LmHeadLoss: per row with a target t (0 <= t < V, checked on the
// host), loss = max + log(sum(exp(l - max))) - l[t] in double; with write_grad the row is replaced IN PLACE by
// d(grad_scale * loss) / d logits = softmax * grad_scale - grad_scale * onehot(t), computed as the reference does
// (exp(l - max) * (grad_scale / sum), then minus grad_scale at t). A row with a negative target has no loss
// (loss 0) and, with write_grad, a zero gradient row.
// logits (M, V) with row stride ldl; loss (M) doubles. Geometry: one block per row (LaunchGeometry.rows).
extern "C" __global__ void lakelora_cross_entropy(
        float* logits, int ldl, const int* targets, double* loss, int M, int V, float grad_scale, int write_grad) {
    __shared__ float red[32];
    int m = blockIdx.x;
    if (m >= M) return;
    float* row = logits + (long long) m * ldl;
    int t = targets[m];
    if (t < 0) {
        if (threadIdx.x == 0) loss[m] = 0.0;
        if (write_grad) {
            for (int j = threadIdx.x; j < V; j += blockDim.x) row[j] = 0.0f;
        }
        return;
    }
    float target = row[t]; // read by every thread before the first barrier, so before any write
    float mx = -__int_as_float(0x7f800000);
    for (int j = threadIdx.x; j < V; j += blockDim.x) mx = ll_max(mx, row[j]);
    mx = ll_block_max(mx, red);
    float s = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float v = ll_exp(__fsub_rn(row[j], mx));
        row[j] = v;
        s = __fadd_rn(s, v);
    }
    s = ll_block_sum(s, red);
    if (threadIdx.x == 0) loss[m] = __dsub_rn(__dadd_rn((double) mx, log((double) s)), (double) target);
    if (write_grad) {
        float sc = __fdiv_rn(grad_scale, s);
        for (int j = threadIdx.x; j < V; j += blockDim.x) { // the same j per thread as the exp loop above
            float g = __fmul_rn(row[j], sc);
            row[j] = j == t ? __fsub_rn(g, grad_scale) : g;
        }
    }
}
