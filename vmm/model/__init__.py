"""The VMM model: hybrid Mamba / local-attention decoder with Switch-Schedule condition fusion.

Public API:
    VMMConfig, VMMModel, Conditions, ConditionFuser, SwitchSchedule, InferenceCache,
    selective_scan, selective_scan_reference
"""

from vmm.model.cache import AttentionState, InferenceCache, MambaState
from vmm.model.conditions import Conditions
from vmm.model.config import VMMConfig
from vmm.model.fusion import ConditionFuser, scale_gradient
from vmm.model.scan import selective_scan, selective_scan_reference
from vmm.model.switch import SwitchSchedule
from vmm.model.vmm_model import VMMModel

__all__ = [
    "AttentionState",
    "ConditionFuser",
    "Conditions",
    "InferenceCache",
    "MambaState",
    "SwitchSchedule",
    "VMMConfig",
    "VMMModel",
    "scale_gradient",
    "selective_scan",
    "selective_scan_reference",
]
