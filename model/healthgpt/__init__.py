"""HealthGPT reference implementation (PyTorch), VQ autoencoder, tokenizer builder and pack exporter."""
from .config import HealthGPTConfig, PluginConfig, VQConfig
from .modeling import HealthGPT, HLoRALinear
from .vq import VQAutoencoder

__all__ = ["HealthGPTConfig", "PluginConfig", "VQConfig", "HealthGPT", "HLoRALinear", "VQAutoencoder"]
