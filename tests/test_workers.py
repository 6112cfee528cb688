"""Worker pools: each worker runs torch and numpy's BLAS on one thread."""

from saesep.workers import one_thread, process_pool


def _threads(_) -> tuple[int, list[int]]:
    import torch
    from threadpoolctl import threadpool_info

    return torch.get_num_threads(), [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]


def _fft_threads(_) -> int:
    from saesep import backend

    return backend.fft_threads


def test_one_thread_workers_use_one_blas_and_one_torch_thread():
    with process_pool(2, initializer=one_thread) as pool:
        results = list(pool.imap(_threads, range(2)))
    for torch_threads, blas in results:
        assert torch_threads == 1
        assert blas and all(n == 1 for n in blas)
    with process_pool(2, initializer=one_thread) as pool:
        assert list(pool.imap(_fft_threads, range(2))) == [1, 1]


def test_threads_shared_divides_the_cores_among_parallel_files_and_restores_them(monkeypatch):
    import torch

    from saesep import workers

    from saesep import backend

    monkeypatch.setattr(backend, "cores", lambda: 8)
    monkeypatch.setattr(backend, "fft_threads", 8)
    torch_before, blas_before = _threads(None)
    with workers.threads_shared(8):  # 8 files on 8 cores: one thread each
        torch_threads, blas = _threads(None)
        assert backend.fft_threads == 1
    assert torch_threads == 1
    assert blas and all(n == 1 for n in blas)
    assert _threads(None) == (torch_before, blas_before) and backend.fft_threads == 8
