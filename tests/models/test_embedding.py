import pytest
import torch

from poselift.models.embedding import PoseEmbedder
from poselift.models.build import build_model
from poselift.models.temporal import ModelConfig


@pytest.mark.parametrize("widths,causal", [([3, 3], False), ([3, 3, 3], True), ([1, 1], False)])
def test_strided_and_dilated_embedders_agree(widths, causal):
    torch.manual_seed(0)
    cfg = ModelConfig(filter_widths=widths, channels=32, causal=causal, embed_dim=16)
    dilated = build_model(cfg)
    strided = build_model(cfg, strided=True)
    assert isinstance(dilated, PoseEmbedder) and not hasattr(dilated.trunk, "shrink")
    strided.load_state_dict(dilated.state_dict())
    dilated.eval(), strided.eval()
    rf = dilated.receptive_field
    x = torch.randn(2, rf + 6, 17, 2)
    with torch.no_grad():
        emb, pose = dilated.embed_and_pose(x)
        assert emb.shape == (2, 7, 16) and pose.shape == (2, 7, 17, 3)
        assert torch.allclose(emb.norm(dim=-1), torch.ones(2, 7), atol=1e-6)
        for t in range(7):
            e_s, p_s = strided.embed_and_pose(x[:, t : t + rf])
            assert torch.allclose(e_s[:, 0], emb[:, t], atol=1e-5) and torch.allclose(p_s[:, 0], pose[:, t], atol=1e-5)
        assert torch.equal(dilated(x), pose)


def test_pose_comes_from_embedding_and_view_code():
    torch.manual_seed(1)
    m = build_model(ModelConfig(filter_widths=[3], channels=16, embed_dim=4, view_dim=2)).eval()
    x = torch.randn(1, 5, 17, 2)
    with torch.no_grad():
        e, pose = m.embed_and_pose(x)
        out = m.embed_layer(m.trunk.features(x))
        assert out.shape[1] == 6
        again = m.pose_from(e.transpose(1, 2), out[:, 4:])
    assert torch.equal(again, pose)


def test_pose_from_trunk_leaves_the_embedding_a_side_branch():
    torch.manual_seed(2)
    m = build_model(ModelConfig(filter_widths=[3], channels=16, embed_dim=4, pose_from="trunk")).eval()
    x = torch.randn(1, 5, 17, 2)
    with torch.no_grad():
        e, pose = m.embed_and_pose(x)
        m.embed_layer.weight.add_(1.0)  # the pose does not go through the embedding
        e2, pose2 = m.embed_and_pose(x)
    assert torch.equal(pose, pose2) and not torch.allclose(e, e2)
    assert pose.shape == (1, 3, 17, 3)
