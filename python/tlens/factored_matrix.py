"""FactoredMatrix: a low-rank matrix A @ B kept as its two factors (TransformerLens's).

    OV = FactoredMatrix(model.W_V[0, 4], model.W_O[0, 4])    # [d_model, d_model], rank d_head
    OV.AB, OV.S, OV.norm(), OV.eigenvalues
"""

import torch

__all__ = ["FactoredMatrix"]


class FactoredMatrix:
    def __init__(self, A, B):
        if A.shape[-1] != B.shape[-2]:
            raise ValueError(f"FactoredMatrix: A's last dim {A.shape[-1]} differs from B's "
                             f"second-to-last {B.shape[-2]}\nhint: A is [..., ldim, mdim], "
                             "B [..., mdim, rdim]")
        batch = torch.broadcast_shapes(A.shape[:-2], B.shape[:-2])
        if A.dim() == 1 or B.dim() == 1:
            raise ValueError("FactoredMatrix: A and B are matrices (at least 2 dims)")
        self.A = A.broadcast_to(batch + A.shape[-2:])
        self.B = B.broadcast_to(batch + B.shape[-2:])
        self.ldim, self.mdim, self.rdim = A.shape[-2], A.shape[-1], B.shape[-1]
        self.shape = batch + (self.ldim, self.rdim)
        self.ndim = len(self.shape)
        self._svd = None

    # --- products ---
    def __matmul__(self, other):
        if isinstance(other, FactoredMatrix):
            return FactoredMatrix(self.A, (self.B @ other.A) @ other.B)
        if other.dim() == 1:
            return (self.A @ (self.B @ other[:, None]))[..., 0]
        return FactoredMatrix(self.A, self.B @ other)

    def __rmatmul__(self, other):
        if other.dim() == 1:
            return ((other[None, :] @ self.A) @ self.B)[..., 0, :]
        return FactoredMatrix(other @ self.A, self.B)

    def __mul__(self, scalar):
        return FactoredMatrix(self.A * scalar, self.B)

    __rmul__ = __mul__

    @property
    def AB(self):
        return self.A @ self.B

    @property
    def BA(self):
        return self.B @ self.A

    @property
    def T(self):
        return FactoredMatrix(self.B.transpose(-2, -1), self.A.transpose(-2, -1))

    @property
    def pair(self):
        return self.A, self.B

    # --- spectrum ---
    def svd(self):
        """(U, S, V) with AB = U diag(S) V^T, from the SVDs of the factors (never AB itself)."""
        if self._svd is None:
            Ua, Sa, Vha = torch.linalg.svd(self.A, full_matrices=False)
            Ub, Sb, Vhb = torch.linalg.svd(self.B, full_matrices=False)
            middle = Sa[..., :, None] * (Vha @ Ub) * Sb[..., None, :]
            Um, Sm, Vhm = torch.linalg.svd(middle)
            U = Ua @ Um
            V = Vhb.transpose(-2, -1) @ Vhm.transpose(-2, -1)
            self._svd = (U, Sm, V)
        return self._svd

    @property
    def U(self):
        return self.svd()[0]

    @property
    def S(self):
        return self.svd()[1]

    @property
    def V(self):
        return self.svd()[2]

    @property
    def eigenvalues(self):
        BA = self.BA
        if BA.dtype in (torch.float16, torch.bfloat16):
            BA = BA.float()
        return torch.linalg.eig(BA).eigenvalues

    def norm(self):
        """The Frobenius norm."""
        return self.S.pow(2).sum(-1).sqrt()

    def make_even(self):
        U, S, V = self.svd()
        root = S.sqrt()
        return FactoredMatrix(U * root[..., None, :], root[..., :, None] * V.transpose(-2, -1))

    def collapse_l(self):
        U, S, V = self.svd()
        return S[..., :, None] * V.transpose(-2, -1)

    def collapse_r(self):
        U, S, V = self.svd()
        return U * S[..., None, :]

    # --- indexing ---
    def __getitem__(self, index):
        if not isinstance(index, tuple):
            index = (index,)
        batch_dims = len(self.shape) - 2
        if len(index) > batch_dims:
            raise IndexError("FactoredMatrix: index the leading (batch) dims only\n"
                             "hint: take .AB first to index rows and columns")
        return FactoredMatrix(self.A[index], self.B[index])

    def unsqueeze(self, k):
        return FactoredMatrix(self.A.unsqueeze(k), self.B.unsqueeze(k))

    def get_corner(self, k=3):
        return self[(slice(k),) * (len(self.shape) - 2)].AB[..., :k, :k]

    def __len__(self):
        return self.shape[0]

    def __repr__(self):
        return f"FactoredMatrix: Shape({self.shape}), Hidden Dim({self.mdim})"
