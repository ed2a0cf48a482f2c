"""One real Python client call: upload a photo the way the named library is commonly used, then
print the top-1 label (for /jobs: after long-polling the job's wait link), or HTTP <status> <body>.

usage: python_client.py LIBRARY VARIANT BASE_URL ROUTE PHOTO
"""
import asyncio
import base64
import json
import sys

library, variant, base, route, path = sys.argv[1:6]
with open(path, "rb") as f:
    data = f.read()


def report(status, body, wait):
    if route == "/jobs" and status == 202:
        while status == 202:
            status, body = wait(base + body["links"]["wait"] + "?timeout=30")
        if status == 200 and body.get("status") == "completed":
            print(body["result"]["predictions"][0]["label"])
            return
    if status == 200 and "predictions" in body:
        print(body["predictions"][0]["label"])
        return
    print("HTTP %d %s" % (status, json.dumps(body)))


if library == "requests":
    import requests

    if variant == "json":
        kwargs = {"json": {"image": base64.b64encode(data).decode()}}
    elif variant == "tf-serving":
        kwargs = {"json": {"instances": [{"b64": base64.b64encode(data).decode()}]}}
    else:
        image = {
            "bytes": data,  # the Flask tutorial's client: no filename, no Content-Type
            "name-bytes": ("photo.jpg", data),
            "name-bytes-type": ("photo.jpg", data, "application/octet-stream"),
            "file": open(path, "rb"),
        }[variant]
        kwargs = {"files": {"image": image}}
    r = requests.post(base + route, **kwargs)

    def wait(url):
        w = requests.get(url)
        return w.status_code, w.json()

    report(r.status_code, r.json(), wait)

elif library == "httpx":
    import httpx

    with httpx.Client(timeout=60) as client:
        r = client.post(base + route, files={"image": ("photo.jpg", data, "image/jpeg")})

        def wait(url):
            w = client.get(url)
            return w.status_code, w.json()

        report(r.status_code, r.json(), wait)

elif library == "aiohttp":
    import aiohttp

    async def main():
        async with aiohttp.ClientSession() as session:
            with open(path, "rb") as f:
                async with session.post(base + route, data={"image": f}) as r:
                    status, body = r.status, await r.json()
            # The long-poll is awaited here; report() then sees the final view.
            while route == "/jobs" and status == 202:
                async with session.get(base + body["links"]["wait"] + "?timeout=30") as w:
                    status, body = w.status, await w.json()
            return status, body

    status, body = asyncio.run(main())
    if route == "/jobs" and status == 200:
        body = {"predictions": body["result"]["predictions"]} if body.get("status") == "completed" else body
    report(status, body, None)
else:
    sys.exit("unknown library " + library)
