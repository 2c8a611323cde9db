"""Write paths of delivery: dispatches (make, fill, start, pause, stop), the send pipeline, test sends, push
amplification, and Settings → Delivery (``settings``)."""
