"""The CPU LSTM: Keras' generic RNN over an LSTMCell, with a hand-written gradient for training.

Keras differentiates the RNN's while loop step by step: every time step of the backward pass
does four small matrix products (the gradients of the input, of both kernels and of the previous
state) and adds each kernel's gradient into a running sum. ``lstm_sequence`` computes the same
function with the work rearranged: the input projection ``x @ kernel + bias`` of all time steps
is one large product before the loop, the loop does one small product per step forward
(``h @ recurrent_kernel``) and one backward (``dz @ recurrent_kernel^T``), and the kernels'
gradients are one large product each after the backward loop. Large products run near the CPU's
peak, small ones at about half of it; on the default CRNN's two BiLSTMs this takes the LSTMs'
share of a training step from ~250 to ~170 ms per batch of 32 lines 100 px wide (one core).

``TrainingLSTM`` uses it for ``training=True`` calls only, when nothing it does not implement is
asked for (dropout, initial or returned states, other activations); every other call, inference
included (SavedModel, TFMA, ONNX export), is Keras' own RNN, so exported graphs do not change. The
weights are the LSTMCell's, so checkpoints and SavedModels are the same as with Keras' RNN.

Masking is Keras' as Bidirectional uses it (``zero_output_for_mask``): over a masked step the
state is carried unchanged and the output is zero.
"""

from __future__ import annotations

import tensorflow as tf


@tf.custom_gradient
def _recurrence(projected: tf.Tensor, mask: tf.Tensor, recurrent_kernel: tf.Tensor):
    """The LSTM loop over ``projected`` [time, batch, 4 * units] (``x @ kernel + bias`` in
    processing order, gates i, f, c, o as Keras' LSTMCell) with ``mask`` [time, batch, 1] (1.0
    where a step counts, 0.0 where it is padding) and ``recurrent_kernel`` [units, 4 * units]:
    the outputs [time, batch, units], zero at masked steps."""
    steps = tf.shape(projected)[0]
    units = tf.shape(recurrent_kernel)[0]
    zeros = tf.zeros(tf.stack([tf.shape(projected)[1], units]), projected.dtype)

    def step(t, h, c, z_steps, h_steps, c_steps):
        z = projected[t] + tf.matmul(h, recurrent_kernel)
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        c_new = tf.sigmoid(z_f) * c + tf.sigmoid(z_i) * tf.tanh(z_c)
        h_new = tf.sigmoid(z_o) * tf.tanh(c_new)
        m = mask[t]
        h = h + m * (h_new - h)  # exact: m is 0 or 1
        c = c + m * (c_new - c)
        return t + 1, h, c, z_steps.write(t, z), h_steps.write(t, h), c_steps.write(t, c)

    def array():
        return tf.TensorArray(projected.dtype, size=steps)

    _, _, _, z_steps, h_steps, c_steps = tf.while_loop(
        lambda t, *_: t < steps, step, (tf.constant(0), zeros, zeros, array(), array(), array())
    )
    z, h_states, c_states = z_steps.stack(), h_steps.stack(), c_steps.stack()
    outputs = mask * h_states

    def gradient(d_outputs):
        # Everything per step that does not depend on the backward recursion, for all steps at
        # once: the gate activations, the states before each step, and the factors that turn
        # (d h_new, d c_new) into the gradient of the pre-activations z. The activations are
        # recomputed from z here, in a few large operations, rather than stored by the forward
        # loop, whose every extra write is a per-step operation.
        z_i, z_f, z_c, z_o = tf.split(z, 4, axis=-1)
        i, f, g, o = tf.sigmoid(z_i), tf.sigmoid(z_f), tf.tanh(z_c), tf.sigmoid(z_o)
        h_before = tf.concat([zeros[None], h_states[:-1]], 0)
        c_before = tf.concat([zeros[None], c_states[:-1]], 0)
        tanh_c = tf.tanh(f * c_before + i * g)
        dc_from_dh = o * (1 - tanh_c * tanh_c)
        gate_factors = tf.concat(
            [g * i * (1 - i), c_before * f * (1 - f), i * (1 - g * g), tanh_c * o * (1 - o)], -1
        )
        carried = 1 - mask
        transposed = tf.transpose(recurrent_kernel)

        def step_back(t, dh_state, dc_state, dz_steps):
            m = mask[t]
            dh = m * (d_outputs[t] + dh_state)
            dc = m * dc_state + dh * dc_from_dh[t]
            dz = tf.concat([dc, dc, dc, dh], -1) * gate_factors[t]
            keep = carried[t]
            return (
                t - 1,
                tf.matmul(dz, transposed) + keep * dh_state,
                dc * f[t] + keep * dc_state,
                dz_steps.write(t, dz),
            )

        _, _, _, dz_steps = tf.while_loop(
            lambda t, *_: t >= 0, step_back, (steps - 1, zeros, zeros, array())
        )
        dz = dz_steps.stack()
        d_recurrent_kernel = tf.matmul(
            tf.reshape(h_before, [-1, units]), tf.reshape(dz, [-1, 4 * units]), transpose_a=True
        )
        return dz, None, d_recurrent_kernel

    return outputs, gradient


def lstm_sequence(
    inputs: tf.Tensor,
    mask: tf.Tensor | None,
    kernel: tf.Tensor,
    recurrent_kernel: tf.Tensor,
    bias: tf.Tensor,
    go_backwards: bool = False,
) -> tf.Tensor:
    """Keras' ``RNN(LSTMCell(units), return_sequences=True, zero_output_for_mask=True)`` on
    ``inputs`` [batch, time, features] with ``mask`` [batch, time] (bool, or None for no
    padding), zero initial state: the outputs [batch, time, units] in processing order (reversed
    time when ``go_backwards``, as Keras returns them)."""
    time_major = tf.transpose(inputs, [1, 0, 2])
    if mask is None:
        mask = tf.ones(tf.shape(inputs)[:2], tf.bool)
    step_mask = tf.cast(tf.transpose(mask), inputs.dtype)[:, :, None]
    if go_backwards:
        time_major = tf.reverse(time_major, [0])
        step_mask = tf.reverse(step_mask, [0])
    steps, batch = tf.shape(time_major)[0], tf.shape(time_major)[1]
    flat = tf.reshape(time_major, [steps * batch, -1])
    projected = tf.reshape(tf.matmul(flat, kernel) + bias, [steps, batch, -1])
    return tf.transpose(_recurrence(projected, step_mask, recurrent_kernel), [1, 0, 2])


@tf.keras.utils.register_keras_serializable(package="crnn")
class TrainingLSTM(tf.keras.layers.RNN):
    """``tf.keras.layers.RNN`` over an LSTMCell whose ``training=True`` calls run
    ``lstm_sequence`` (see the module docstring); same weights, same function."""

    def _computes_with_lstm_sequence(
        self, inputs, mask, training, initial_state, constants
    ) -> bool:
        cell = self.cell
        return (
            training is True
            and (mask is None or (isinstance(mask, tf.Tensor) and mask.shape.rank == 2))
            and initial_state is None
            and constants is None
            and isinstance(cell, tf.keras.layers.LSTMCell)
            and cell.use_bias
            and cell.activation is tf.keras.activations.tanh
            and cell.recurrent_activation is tf.keras.activations.sigmoid
            and not cell.dropout
            and not cell.recurrent_dropout
            and self.return_sequences
            and not self.return_state
            and not self.stateful
            and not self.unroll
            and not self.time_major
            and self.zero_output_for_mask
            and isinstance(inputs, tf.Tensor)
            and inputs.shape.rank == 3
        )

    def call(self, inputs, mask=None, training=None, initial_state=None, constants=None):
        if not self._computes_with_lstm_sequence(inputs, mask, training, initial_state, constants):
            return super().call(
                inputs,
                mask=mask,
                training=training,
                initial_state=initial_state,
                constants=constants,
            )
        cell = self.cell
        dtype = inputs.dtype
        return lstm_sequence(
            inputs,
            mask,
            tf.cast(cell.kernel, dtype),
            tf.cast(cell.recurrent_kernel, dtype),
            tf.cast(cell.bias, dtype),
            go_backwards=self.go_backwards,
        )
