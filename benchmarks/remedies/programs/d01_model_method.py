"""A model instance whose Python method is called per input."""
CATEGORY = "instances"
SHARED = {"MODEL": None}
REMEDIES = ["deferred:MODEL", "handle:MODEL", "local_handle:MODEL",
            "bind_once:MODEL"]


class Model:
    def __init__(self, scale, bias):
        self.scale = scale
        self.bias = bias

    def predict(self, x):
        return x * 3 + 1


MODEL = Model(3, 1)


def work(n):
    total = 0
    for i in range(n):
        total += MODEL.predict(i & 15)
    return total


def work_bound(n):
    predict = MODEL.predict
    total = 0
    for i in range(n):
        total += predict(i & 15)
    return total


def remedy_bind_once(mine, main):
    mine["work"] = mine["work_bound"]
