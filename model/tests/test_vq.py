"""Source-guided VQ decoder: starts as the identity of its source, needs the source, uses its tokens."""
import unittest

import torch

from model.healthgpt import VQAutoencoder
from model.healthgpt.config import CLIP_MEAN, CLIP_STD, VQConfig


def _guided(seed=0):
    torch.manual_seed(seed)
    return VQAutoencoder(VQConfig(image_size=32, ch=8, ch_mult=[1, 2, 2], z_channels=8, embed_dim=8,
                                  codebook_size=16, num_groups=4, source_guided=True)).eval()


def _clip(grey01: torch.Tensor) -> torch.Tensor:
    x = grey01[:, None].repeat(1, 3, 1, 1)
    return (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)


class SourceGuidedDecoderTest(unittest.TestCase):
    def test_with_the_token_path_silent_it_returns_its_source(self):
        vq = _guided()
        with torch.no_grad():
            vq.decoder.conv_out.weight.zero_()
            vq.decoder.conv_out.bias.zero_()
            grey = torch.rand(2, 32, 32) * 0.9 + 0.05
            out = vq.decode(torch.randint(0, 16, (2, 64)), _clip(grey))
        self.assertLess((out.mean(1) - grey).abs().max().item(), 1e-5)

    def test_tokens_change_the_output_when_the_token_path_is_live(self):
        vq = _guided(1)
        src = _clip(torch.rand(1, 32, 32))
        with torch.no_grad():
            a = vq.decode(torch.zeros(1, 64, dtype=torch.long), src)
            b = vq.decode(torch.full((1, 64), 5, dtype=torch.long), src)
        self.assertGreater((a - b).abs().max().item(), 1e-4)

    def test_refuses_to_decode_without_its_source(self):
        with self.assertRaises(ValueError):
            _guided().decode(torch.zeros(1, 64, dtype=torch.long))

    def test_plain_decoder_needs_no_source(self):
        torch.manual_seed(0)
        vq = VQAutoencoder(VQConfig(image_size=32, ch=8, ch_mult=[1, 2, 2], z_channels=8, embed_dim=8,
                                    codebook_size=16, num_groups=4)).eval()
        with torch.no_grad():
            out = vq.decode(torch.zeros(1, 64, dtype=torch.long))
        self.assertEqual(tuple(out.shape), (1, 3, 32, 32))


if __name__ == "__main__":
    unittest.main()
